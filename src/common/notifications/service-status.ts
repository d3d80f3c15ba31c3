/**
 * service.create, service.update and service.delete (nova/notifications/objects/service.py): Nova's
 * Service object publishes its own changes as the service they are about (`nova-compute:<its host>`),
 * whichever process makes them: the service registering itself, or an operator through the API.
 */
import type { RequestContext } from '../context.ts';
import { versionedObject, type Notifier, type VersionedObject } from './notifier.ts';
import { notificationTime, novaBinary } from './payload-fields.ts';

/** A services row, as far as the payload reads it (flags as the database keeps them: 0 or 1). */
export interface ServiceStatusFields {
  uuid: string;
  host: string;
  binary: string;
  topic: string;
  report_count: number;
  disabled: number;
  disabled_reason: string | null;
  forced_down: number;
  version: number;
  last_seen_up: string | null;
}

/**
 * ServiceStatusPayload 1.1. availability_zone is null as in Nova, whose service object only has a zone
 * when the os-services list computed one; `binary` is Nova's name for the service (novaBinary).
 */
export function serviceStatusPayload(s: ServiceStatusFields): VersionedObject {
  return versionedObject('ServiceStatusPayload', '1.1', {
    host: s.host,
    binary: novaBinary(s.binary),
    topic: s.topic,
    report_count: s.report_count,
    disabled: s.disabled === 1,
    disabled_reason: s.disabled_reason,
    availability_zone: null,
    last_seen_up: notificationTime(s.last_seen_up),
    forced_down: s.forced_down === 1,
    version: s.version,
    uuid: s.uuid,
  });
}

export function emitServiceStatus(
  notifier: Notifier,
  ctx: RequestContext,
  action: 'create' | 'update' | 'delete',
  service: ServiceStatusFields,
): void {
  if (!notifier.enabled) return;
  const publisher = `${novaBinary(service.binary)}:${service.host}`;
  notifier.emit(ctx, `service.${action}`, serviceStatusPayload(service), undefined, publisher);
}

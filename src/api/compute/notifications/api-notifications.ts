/**
 * The compute API's versioned notifications, with the publishers Nova gives them: keypair.*, flavor.*
 * and aggregate.* come from `nova-api:<host>`; service.* from the service they are about
 * (`nova-compute:<its host>`, as Nova's Service object publishes its own changes); instance.update from
 * `nova-compute:<host>`, because Nova's Instance.save publishes it under the compute service name
 * whichever process saved the instance, except for a change of tags, which Nova's tag routes publish
 * as `nova-api:<host>`. They go through the api process's notifier, with its
 * [notifications] and [oslo_messaging_notifications] options; none of them delays or fails a request.
 */
import type { Config } from '../../../common/config/load-config.ts';
import type { RequestContext } from '../../../common/context.ts';
import type { Notifier, VersionedObject } from '../../../common/notifications/notifier.ts';
import { notifierFromConfig } from '../../../common/notifications/notifier.ts';
import { emitServiceStatus } from '../../../common/notifications/service-status.ts';
import type { Transport } from '../../../common/rpc/transport.ts';
import type { ServiceRecord } from '../../../objects/services.ts';
import { getLogger } from '../../../common/log/logger.ts';

const log = getLogger('api.notifications');

export type StateChangeNotices = 'vm_state' | 'vm_and_task_state' | null;

export class ApiNotifications {
  constructor(
    private readonly notifier: Notifier,
    private readonly host: string,
    /** [notifications] notify_on_state_change: instance.update is sent only when it is set, as in Nova. */
    readonly notifyOnStateChange: StateChangeNotices,
  ) {}

  /** Whether anything is sent: routes skip the extra reads a payload needs when not. */
  get enabled(): boolean {
    return this.notifier.enabled;
  }

  /** keypair.*, flavor.*, aggregate.*: published by the API. */
  send(ctx: RequestContext, eventType: string, payload: () => VersionedObject): void {
    if (this.notifier.enabled) this.notifier.emit(ctx, eventType, payload(), undefined, `nova-api:${this.host}`);
  }

  /** service.create/update/delete, published as the service itself. */
  service(ctx: RequestContext, action: 'create' | 'update' | 'delete', service: ServiceRecord): void {
    emitServiceStatus(this.notifier, ctx, action, service);
  }

  /** instance.update for a change the API saved, when [notifications] notify_on_state_change is set. */
  get instanceUpdates(): boolean {
    return this.notifier.enabled && this.notifyOnStateChange !== null;
  }

  async instanceUpdate(ctx: RequestContext, payload: () => Promise<VersionedObject>): Promise<void> {
    if (this.instanceUpdates) await this.sendBuilt(ctx, payload, `nova-compute:${this.host}`);
  }

  /**
   * instance.update for a server's tags changed: Nova's tag routes send it themselves, as `nova-api`,
   * whatever notify_on_state_change says.
   */
  async tagsUpdate(ctx: RequestContext, payload: () => Promise<VersionedObject>): Promise<void> {
    if (this.notifier.enabled) await this.sendBuilt(ctx, payload, `nova-api:${this.host}`);
  }

  /** A payload that cannot be built is logged, never the request's failure: the change is made. */
  private async sendBuilt(ctx: RequestContext, payload: () => Promise<VersionedObject>, publisher: string) {
    try {
      this.notifier.emit(ctx, 'instance.update', await payload(), undefined, publisher);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'instance.update not sent');
    }
  }

  /** Resolves once everything queued has been sent or dropped (the api process's stop). */
  flush(): Promise<void> {
    return this.notifier.flush();
  }
}

export function apiNotificationsFromConfig(config: Config, transport: Transport): ApiNotifications {
  const host = config.DEFAULT.host;
  return new ApiNotifications(
    notifierFromConfig(config, transport, `nova-api:${host}`),
    host,
    config.notifications.notify_on_state_change as StateChangeNotices,
  );
}

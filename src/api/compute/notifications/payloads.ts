/**
 * Nova's payloads of the objects the API changes itself (nova/notifications/objects/keypair.py,
 * aggregate.py; FlavorPayload and ServiceStatusPayload are in common/notifications/): the same fields,
 * versions and nulls, so consumers written against Nova's notification samples read them unchanged.
 */
import { versionedObject, type VersionedObject } from '../../../common/notifications/notifier.ts';
import type { Aggregate } from '../../../objects/aggregates.ts';

export interface KeypairFields {
  user_id: string;
  name: string;
  type: string;
  /** Null while Nova has not made or read them yet (keypair.create.start, keypair.import.start). */
  fingerprint: string | null;
  public_key: string | null;
}

/** KeypairPayload 1.0. */
export function keypairPayload(k: KeypairFields): VersionedObject {
  return versionedObject('KeypairPayload', '1.0', {
    user_id: k.user_id,
    name: k.name,
    fingerprint: k.fingerprint,
    public_key: k.public_key,
    type: k.type,
  });
}

/**
 * AggregatePayload 1.1. aggregate.create.start goes out before the database gave an id and with no
 * hosts loaded: `id` and `hosts` are null there, and `metadata` is null unless a zone was asked for.
 */
export function aggregatePayload(
  a: Pick<Aggregate, 'uuid' | 'name'> & {
    id: number | null;
    hosts: readonly string[] | null;
    metadata: Readonly<Record<string, string>> | null;
  },
): VersionedObject {
  return versionedObject('AggregatePayload', '1.1', {
    id: a.id,
    uuid: a.uuid,
    name: a.name,
    hosts: a.hosts === null ? null : [...a.hosts],
    metadata: a.metadata === null ? null : { ...a.metadata },
  });
}

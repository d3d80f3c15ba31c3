/**
 * The instance payloads against Nova's notification samples (doc/notification_samples/common_payloads:
 * InstancePayload 1.9 and the classes built on it): each class's version as Nova sends it today, and
 * exactly the sample's fields, none more (InstanceUpdatePayload 2.0 dropped `bandwidth`) and none fewer
 * (InstancePayload 1.8 added `locked_reason`, 1.9 `shares`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { userContext } from '../../../src/common/context.ts';
import type { VersionedObject } from '../../../src/common/notifications/notifier.ts';
import {
  actionPayload,
  updatePayload,
  type ActionPayloadKind,
  type InstanceFacts,
} from '../../../src/wire/notifications/instance-payloads.ts';
import { instancePayload } from '../../helpers/instance-payload.ts';

/** InstancePayload.json's fields. */
const INSTANCE_FIELDS = [
  'action_initiator_project',
  'action_initiator_user',
  'architecture',
  'auto_disk_config',
  'availability_zone',
  'block_devices',
  'created_at',
  'deleted_at',
  'display_description',
  'display_name',
  'flavor',
  'host',
  'host_name',
  'image_uuid',
  'ip_addresses',
  'kernel_id',
  'key_name',
  'launched_at',
  'locked',
  'locked_reason',
  'metadata',
  'node',
  'os_type',
  'power_state',
  'progress',
  'ramdisk_id',
  'request_id',
  'reservation_id',
  'shares',
  'state',
  'task_state',
  'tenant_id',
  'terminated_at',
  'updated_at',
  'user_id',
  'uuid',
];

/** Each payload class: its version in Nova's samples and the fields it adds to InstancePayload. */
const SAMPLES: { kind: ActionPayloadKind; name: string; version: string; extra: string[] }[] = [
  { kind: { kind: 'action' }, name: 'InstanceActionPayload', version: '1.9', extra: ['fault'] },
  {
    kind: { kind: 'create' },
    name: 'InstanceCreatePayload',
    version: '1.13',
    extra: ['fault', 'instance_name', 'keypairs', 'tags', 'trusted_image_certificates'],
  },
  {
    kind: { kind: 'rebuild' },
    name: 'InstanceActionRebuildPayload',
    version: '1.10',
    extra: ['fault', 'trusted_image_certificates'],
  },
  {
    kind: { kind: 'rescue', rescueImageRef: null },
    name: 'InstanceActionRescuePayload',
    version: '1.4',
    extra: ['fault', 'rescue_image_ref'],
  },
  {
    kind: { kind: 'snapshot', snapshotImageId: 'd2aae36f-785c-4518-8016-bc9534d9fc7f' },
    name: 'InstanceActionSnapshotPayload',
    version: '1.10',
    extra: ['fault', 'snapshot_image_id'],
  },
];

const ctx = userContext({ requestId: 'req-1', userId: 'u1', projectId: 'p1', roles: ['member'] });

function facts(): InstanceFacts {
  const instance = instancePayload('178b0921-8f85-4257-88b6-2e743b5a975c', { display_name: 'some-server' });
  return { instance, networkInfo: [], progress: 0, deletedAt: null };
}

function fieldsOf(payload: VersionedObject): string[] {
  return Object.keys(payload['nova_object.data']).sort();
}

describe("instance payloads in the shape of Nova's samples", () => {
  for (const sample of SAMPLES) {
    it(`${sample.name} ${sample.version}`, () => {
      const payload = actionPayload(ctx, facts(), null, sample.kind);
      assert.equal(payload['nova_object.name'], sample.name);
      assert.equal(payload['nova_object.version'], sample.version);
      assert.equal(payload['nova_object.namespace'], 'nova');
      assert.deepEqual(fieldsOf(payload), [...INSTANCE_FIELDS, ...sample.extra].sort());
    });
  }

  it('InstanceUpdatePayload 2.1: no bandwidth, the state change and the audit period', () => {
    const payload = updatePayload(ctx, facts(), { vm_state: 'building', task_state: 'spawning' }, new Date());
    assert.equal(payload['nova_object.name'], 'InstanceUpdatePayload');
    assert.equal(payload['nova_object.version'], '2.1');
    assert.deepEqual(
      fieldsOf(payload),
      [...INSTANCE_FIELDS, 'audit_period', 'old_display_name', 'state_update', 'tags'].sort(),
    );
    const data = payload['nova_object.data'];
    assert.equal(data['bandwidth'], undefined);
    // What Nova sends with its default configuration: no lock reason known, no share mappings.
    assert.equal(data['locked_reason'], null);
    assert.equal(data['shares'], null);
  });
});

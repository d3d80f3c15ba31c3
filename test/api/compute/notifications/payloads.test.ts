/**
 * The API's payload builders against the shapes of Nova's notification samples
 * (doc/notification_samples/common_payloads/*.json): the class, its version, every field and each
 * field's type, and the nulls Nova sends where it has no value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregatePayload, keypairPayload } from '../../../../src/api/compute/notifications/payloads.ts';
import { serviceStatusPayload } from '../../../../src/common/notifications/service-status.ts';
import { flavorPayload, notificationTime, novaBinary } from '../../../../src/common/notifications/payload-fields.ts';
import type { VersionedObject } from '../../../../src/common/notifications/notifier.ts';

/** A field's JSON type as the samples show it ('null' for a null). */
function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The payload's class, version and field types, to compare with a sample's. */
function shape(payload: VersionedObject): { name: string; version: string; fields: Record<string, string> } {
  const fields = Object.fromEntries(
    Object.entries(payload['nova_object.data'])
      .map(([k, v]) => [k, typeOf(v)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  assert.equal(payload['nova_object.namespace'], 'nova');
  return { name: payload['nova_object.name'], version: payload['nova_object.version'], fields };
}

describe("payloads in the shape of Nova's samples", () => {
  it('KeypairPayload 1.0 (keypair-import-end), and the start with no key read yet', () => {
    const end = keypairPayload({
      user_id: 'u',
      name: 'my-key',
      type: 'ssh',
      fingerprint: '1e:2c',
      public_key: 'ssh-rsa A',
    });
    assert.deepEqual(shape(end), {
      name: 'KeypairPayload',
      version: '1.0',
      fields: { fingerprint: 'string', name: 'string', public_key: 'string', type: 'string', user_id: 'string' },
    });
    const start = keypairPayload({ user_id: 'u', name: 'my-key', type: 'ssh', fingerprint: null, public_key: null });
    assert.equal(start['nova_object.data']['fingerprint'], null);
    assert.equal(start['nova_object.data']['public_key'], null);
  });

  it('AggregatePayload 1.1 (aggregate-create-end), and create.start with no id nor hosts', () => {
    const end = aggregatePayload({
      id: 1,
      uuid: 'u-1',
      name: 'my-aggregate',
      hosts: [],
      metadata: { availability_zone: 'nova' },
    });
    assert.deepEqual(shape(end), {
      name: 'AggregatePayload',
      version: '1.1',
      fields: { hosts: 'array', id: 'number', metadata: 'object', name: 'string', uuid: 'string' },
    });
    const start = aggregatePayload({ id: null, uuid: 'u-1', name: 'my-aggregate', hosts: null, metadata: null });
    assert.deepEqual(shape(start).fields, {
      hosts: 'null',
      id: 'null',
      metadata: 'null',
      name: 'string',
      uuid: 'string',
    });
  });

  it('FlavorPayload 1.4 (flavor-update), with extra specs and projects null where Nova has not loaded them', () => {
    const flavor = {
      flavorid: 'a22d5517',
      name: 'test_flavor',
      memory_mb: 1024,
      vcpus: 2,
      root_gb: 10,
      ephemeral_gb: 0,
      swap: 0,
      rxtx_factor: 2.0,
      vcpu_weight: 0,
      disabled: false,
      is_public: false,
      description: null,
    };
    const update = flavorPayload(flavor, { 'hw:numa_nodes': '2' }, ['6f70656e']);
    assert.deepEqual(shape(update), {
      name: 'FlavorPayload',
      version: '1.4',
      fields: {
        description: 'null',
        disabled: 'boolean',
        ephemeral_gb: 'number',
        extra_specs: 'object',
        flavorid: 'string',
        is_public: 'boolean',
        memory_mb: 'number',
        name: 'string',
        projects: 'array',
        root_gb: 'number',
        rxtx_factor: 'number',
        swap: 'number',
        vcpu_weight: 'number',
        vcpus: 'number',
      },
    });
    const deleted = flavorPayload(flavor, null, null)['nova_object.data'];
    assert.equal(deleted['extra_specs'], null);
    assert.equal(deleted['projects'], null);
  });

  it('ServiceStatusPayload 1.1 (service-update): Nova binary names, times in its format', () => {
    const payload = serviceStatusPayload({
      uuid: 'fa69c544-906b-4a6a-a9c6-c1f7a8078c73',
      host: 'host1',
      binary: 'stratus-compute',
      topic: 'compute',
      report_count: 1,
      disabled: 1,
      disabled_reason: 'maintenance',
      forced_down: 0,
      version: 7,
      last_seen_up: '2012-10-29T13:42:05.123Z',
    });
    assert.deepEqual(shape(payload), {
      name: 'ServiceStatusPayload',
      version: '1.1',
      fields: {
        availability_zone: 'null',
        binary: 'string',
        disabled: 'boolean',
        disabled_reason: 'string',
        forced_down: 'boolean',
        host: 'string',
        last_seen_up: 'string',
        report_count: 'number',
        topic: 'string',
        uuid: 'string',
        version: 'number',
      },
    });
    const d = payload['nova_object.data'];
    assert.equal(d['binary'], 'nova-compute');
    assert.equal(d['last_seen_up'], '2012-10-29T13:42:05Z');
    assert.equal(d['disabled'], true);
    assert.equal(d['forced_down'], false);
  });

  it("Nova's names and times", () => {
    assert.equal(novaBinary('stratus-conductor'), 'nova-conductor');
    assert.equal(novaBinary('nova-compute'), 'nova-compute');
    assert.equal(notificationTime(null), null);
    assert.equal(notificationTime('not a time'), null);
  });
});

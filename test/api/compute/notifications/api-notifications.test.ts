/**
 * The compute API's versioned notifications, as its notifier publishes them: for key pairs, flavors,
 * aggregates, services and a server update, the event types, publishers, payload classes and the values
 * Nova's API sends at each point (start before the change, end after; nothing for a request refused
 * before Nova would have sent anything).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SSH_KEY_VECTORS } from '../../../helpers/key-vectors.ts';
import { addComputeHost, client, PROJECT_B, seedServer, startComputeApi, type Harness } from '../helpers.ts';

interface Sent {
  /** Where the transport was asked to publish it (not part of the message). */
  exchange: string;
  topic: string;
  publisher_id: string;
  event_type: string;
  priority: string;
  payload: { 'nova_object.name': string; 'nova_object.version': string; 'nova_object.data': Record<string, unknown> };
}

let h: Harness;

before(async () => {
  h = await startComputeApi({
    oslo_messaging_notifications: { driver: 'messagingv2' },
    notifications: { notify_on_state_change: 'vm_state' },
    DEFAULT: { host: 'api-host' },
  });
  await addComputeHost(h, 'cmp1');
  // Flavor access names a project that exists.
  const at = new Date().toISOString();
  await h.database.db
    .insertInto('domains')
    .values({ id: 'default', name: 'Default', description: null, enabled: 1, created_at: at })
    .execute();
  await h.database.db
    .insertInto('projects')
    .values({
      id: PROJECT_B,
      name: 'b',
      domain_id: 'default',
      description: null,
      enabled: 1,
      parent_id: null,
      created_at: at,
    })
    .execute();
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.notifications.length = 0;
});

/** What was published since the test began, unwrapped from oslo's envelope. */
async function sent(): Promise<Sent[]> {
  await h.notifications.flush();
  return h.transport.notifications.map((n) => {
    const envelope = JSON.parse(n.body) as { 'oslo.version': string; 'oslo.message': string };
    assert.equal(envelope['oslo.version'], '2.0');
    return { ...(JSON.parse(envelope['oslo.message']) as Sent), exchange: n.exchange, topic: n.topic };
  });
}

const events = (list: Sent[]) => list.map((s) => s.event_type);
const data = (s: Sent | undefined) => s!.payload['nova_object.data'];
const admin = (version?: string) => client(h.app, 'admin', version);

describe('API notifications', () => {
  it('keypair.import and keypair.delete carry the key, start before it is read or stored', async () => {
    const rsa = SSH_KEY_VECTORS.rsa;
    const alice = client(h.app, 'alice', '2.2');
    const res = await alice.post('/v2.1/os-keypairs', { keypair: { name: 'k1', public_key: rsa.publicKey } });
    assert.equal(res.statusCode, 201, res.body);
    const created = await sent();
    assert.deepEqual(events(created), ['keypair.import.start', 'keypair.import.end']);
    for (const s of created) {
      assert.equal(s.exchange, 'nova');
      assert.equal(s.topic, 'versioned_notifications.info');
      assert.equal(s.publisher_id, 'nova-api:api-host');
      assert.equal(s.priority, 'INFO');
      assert.equal(s.payload['nova_object.name'], 'KeypairPayload');
      assert.equal(s.payload['nova_object.version'], '1.0');
    }
    assert.deepEqual(data(created[0]), {
      user_id: 'alice',
      name: 'k1',
      fingerprint: null,
      public_key: rsa.publicKey,
      type: 'ssh',
    });
    assert.equal(data(created[1])['fingerprint'], rsa.fingerprint);

    h.transport.notifications.length = 0;
    assert.equal((await alice.delete('/v2.1/os-keypairs/k1')).statusCode, 204);
    const deleted = await sent();
    assert.deepEqual(events(deleted), ['keypair.delete.start', 'keypair.delete.end']);
    assert.deepEqual(data(deleted[0]), data(created[1]));

    h.transport.notifications.length = 0;
    assert.equal((await alice.delete('/v2.1/os-keypairs/k1')).statusCode, 404);
    assert.deepEqual(await sent(), [], 'a key pair that is not there: nothing to report');
  });

  it('keypair.create for a generated key: the start has no key yet, the end has it', async () => {
    const res = await client(h.app, 'alice', '2.2').post('/v2.1/os-keypairs', { keypair: { name: 'gen' } });
    assert.equal(res.statusCode, 201, res.body);
    const list = await sent();
    assert.deepEqual(events(list), ['keypair.create.start', 'keypair.create.end']);
    assert.equal(data(list[0])['public_key'], null);
    assert.equal(data(list[0])['fingerprint'], null);
    assert.equal(data(list[1])['public_key'], res.json().keypair.public_key);
    assert.equal(data(list[1])['fingerprint'], res.json().keypair.fingerprint);
  });

  it('flavor.create, flavor.update (description, extra specs, access) and flavor.delete', async () => {
    const res = await admin('2.55').post('/v2.1/flavors', {
      flavor: { name: 'noticed', id: 'fl-n', ram: 1024, vcpus: 2, disk: 10, 'os-flavor-access:is_public': false },
    });
    assert.equal(res.statusCode, 200, res.body);
    const changes = [
      await admin().post('/v2.1/flavors/fl-n/os-extra_specs', { extra_specs: { 'hw:numa_nodes': '2' } }),
      await admin().post('/v2.1/flavors/fl-n/action', { addTenantAccess: { tenant: PROJECT_B } }),
      await admin('2.55').put('/v2.1/flavors/fl-n', { flavor: { description: 'now described' } }),
      await admin().delete('/v2.1/flavors/fl-n/os-extra_specs/hw:numa_nodes'),
    ];
    assert.deepEqual(
      changes.map((r) => r.statusCode),
      [200, 200, 200, 200],
    );
    assert.equal((await admin().delete('/v2.1/flavors/fl-n')).statusCode, 202);
    const list = await sent();
    assert.deepEqual(events(list), [
      'flavor.create',
      'flavor.update',
      'flavor.update',
      'flavor.update',
      'flavor.update',
      'flavor.delete',
    ]);
    for (const s of list) {
      assert.equal(s.publisher_id, 'nova-api:api-host');
      assert.equal(s.payload['nova_object.name'], 'FlavorPayload');
      assert.equal(s.payload['nova_object.version'], '1.4');
    }
    const [create, specs, access, described, unspecified, deleted] = list.map(data);
    assert.equal(create!['flavorid'], 'fl-n');
    assert.equal(create!['memory_mb'], 1024);
    assert.equal(create!['is_public'], false);
    // Nova: a created flavor's extra specs are not loaded (null), its projects are (none yet).
    assert.equal(create!['extra_specs'], null);
    assert.deepEqual(create!['projects'], []);
    assert.deepEqual(specs!['extra_specs'], { 'hw:numa_nodes': '2' });
    assert.deepEqual(access!['projects'], [PROJECT_B]);
    assert.equal(described!['description'], 'now described');
    assert.deepEqual(unspecified!['extra_specs'], {});
    assert.equal(deleted!['extra_specs'], null);
    assert.equal(deleted!['projects'], null);
  });

  it('aggregate.* around each change, with the aggregate before (start) and after (end)', async () => {
    const created = await admin().post('/v2.1/os-aggregates', {
      aggregate: { name: 'agg-n', availability_zone: 'z1' },
    });
    assert.equal(created.statusCode, 200, created.body);
    const id = created.json().aggregate.id as number;
    await admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'cmp1' } });
    await admin().post(`/v2.1/os-aggregates/${id}/action`, { set_metadata: { metadata: { k: 'v' } } });
    await admin().put(`/v2.1/os-aggregates/${id}`, { aggregate: { name: 'agg-renamed' } });
    await admin().post(`/v2.1/os-aggregates/${id}/action`, { remove_host: { host: 'cmp1' } });
    assert.equal((await admin().delete(`/v2.1/os-aggregates/${id}`)).statusCode, 200);
    const list = await sent();
    assert.deepEqual(events(list), [
      'aggregate.create.start',
      'aggregate.create.end',
      'aggregate.add_host.start',
      'aggregate.add_host.end',
      'aggregate.update_metadata.start',
      'aggregate.update_metadata.end',
      'aggregate.update_prop.start',
      'aggregate.update_prop.end',
      'aggregate.remove_host.start',
      'aggregate.remove_host.end',
      'aggregate.delete.start',
      'aggregate.delete.end',
    ]);
    for (const s of list) {
      assert.equal(s.publisher_id, 'nova-api:api-host');
      assert.equal(s.payload['nova_object.name'], 'AggregatePayload');
      assert.equal(s.payload['nova_object.version'], '1.1');
    }
    const [createStart, createEnd, addStart, addEnd, metaStart, metaEnd, propStart] = list.map(data);
    const uuid = createEnd!['uuid'];
    assert.deepEqual(createStart, {
      id: null,
      uuid,
      name: 'agg-n',
      hosts: null,
      metadata: { availability_zone: 'z1' },
    });
    assert.deepEqual(createEnd, { id, uuid, name: 'agg-n', hosts: [], metadata: { availability_zone: 'z1' } });
    assert.deepEqual(addStart!['hosts'], []);
    assert.deepEqual(addEnd!['hosts'], ['cmp1']);
    assert.deepEqual(metaStart!['metadata'], { availability_zone: 'z1' });
    assert.deepEqual(metaEnd!['metadata'], { availability_zone: 'z1', k: 'v' });
    assert.equal(propStart!['name'], 'agg-renamed');
    assert.deepEqual(data(list[9])!['hosts'], []);
  });

  it('a refused aggregate delete sends its start and no end; an unknown one sends nothing', async () => {
    const id = (await admin().post('/v2.1/os-aggregates', { aggregate: { name: 'busy-agg' } })).json().aggregate.id;
    await admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'cmp1' } });
    h.transport.notifications.length = 0;
    assert.equal((await admin().delete(`/v2.1/os-aggregates/${id}`)).statusCode, 400);
    assert.equal((await admin().delete('/v2.1/os-aggregates/999999')).statusCode, 404);
    assert.deepEqual(events(await sent()), ['aggregate.delete.start']);
    await admin().post(`/v2.1/os-aggregates/${id}/action`, { remove_host: { host: 'cmp1' } });
    await admin().delete(`/v2.1/os-aggregates/${id}`);
  });

  it('service.update when an operator disables or forces down a service, service.delete when it goes', async () => {
    const { service } = await addComputeHost(h, 'cmp-gone');
    const v253 = admin('2.53');
    const res = await v253.put(`/v2.1/os-services/${service.uuid}`, { status: 'disabled', disabled_reason: 'maint' });
    assert.equal(res.statusCode, 200, res.body);
    await admin('2.11').put('/v2.1/os-services/force-down', {
      host: 'cmp-gone',
      binary: 'stratus-compute',
      forced_down: true,
    });
    assert.equal((await v253.delete(`/v2.1/os-services/${service.uuid}`)).statusCode, 204);
    const list = await sent();
    assert.deepEqual(events(list), ['service.update', 'service.update', 'service.delete']);
    for (const s of list) {
      // Nova's Service object publishes its own changes, as the service.
      assert.equal(s.publisher_id, 'nova-compute:cmp-gone');
      assert.equal(s.payload['nova_object.name'], 'ServiceStatusPayload');
      assert.equal(s.payload['nova_object.version'], '1.1');
    }
    const [disabled, forced] = list.map(data);
    assert.equal(disabled!['disabled'], true);
    assert.equal(disabled!['disabled_reason'], 'maint');
    assert.equal(disabled!['forced_down'], false);
    assert.equal(disabled!['binary'], 'nova-compute');
    assert.equal(disabled!['uuid'], service.uuid);
    assert.equal(forced!['forced_down'], true);
    assert.match(String(disabled!['last_seen_up']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('instance.update on a rename, with the old name, as the compute service of the API host', async () => {
    const server = await seedServer(h, { name: 'before', host: 'cmp1' });
    const res = await client(h.app, 'alice').put(`/v2.1/servers/${server.uuid}`, { server: { name: 'after' } });
    assert.equal(res.statusCode, 200, res.body);
    const [update, ...rest] = await sent();
    assert.deepEqual(rest, []);
    assert.equal(update!.event_type, 'instance.update');
    assert.equal(update!.publisher_id, 'nova-compute:api-host');
    assert.equal(update!.payload['nova_object.name'], 'InstanceUpdatePayload');
    const d = data(update);
    assert.equal(d['uuid'], server.uuid);
    assert.equal(d['display_name'], 'after');
    assert.equal(d['old_display_name'], 'before');
    assert.equal(d['reservation_id'], 'r-seeded00');
    assert.equal(d['state'], 'active');
    assert.match(String(d['created_at']), /Z$/);
    const states = (d['state_update'] as Sent['payload'])['nova_object.data'];
    assert.deepEqual(states, { old_state: 'active', state: 'active', old_task_state: null, new_task_state: null });
  });
});

describe('instance.update for tags', () => {
  it("each tag change sends one, as nova-api, with the server's tags; a tag already there sends none", async () => {
    const server = await seedServer(h, { name: 'tagged', host: 'cmp1' });
    const alice = client(h.app, 'alice', '2.26');
    const base = `/v2.1/servers/${server.uuid}/tags`;
    assert.equal((await alice.put(`${base}/t1`)).statusCode, 201);
    assert.equal((await alice.put(`${base}/t1`)).statusCode, 204);
    assert.equal((await alice.put(base, { tags: ['a', 'b'] })).statusCode, 200);
    assert.equal((await alice.delete(`${base}/a`)).statusCode, 204);
    assert.equal((await alice.delete(base)).statusCode, 204);
    const list = await sent();
    assert.deepEqual(events(list), ['instance.update', 'instance.update', 'instance.update', 'instance.update']);
    for (const s of list) {
      assert.equal(s.publisher_id, 'nova-api:api-host');
      assert.equal(s.payload['nova_object.name'], 'InstanceUpdatePayload');
      assert.equal(data(s)['uuid'], server.uuid);
      assert.equal(data(s)['old_display_name'], null);
    }
    assert.deepEqual(
      list.map((s) => data(s)['tags']),
      [['t1'], ['a', 'b'], ['b'], []],
    );
  });
});

describe('API notifications left out', () => {
  it('no instance.update for a rename without notify_on_state_change, as in Nova', async () => {
    const plain = await startComputeApi({ oslo_messaging_notifications: { driver: 'messagingv2' } });
    try {
      await addComputeHost(plain, 'cmp1');
      const server = await seedServer(plain, { name: 'quiet' });
      await client(plain.app, 'alice').put(`/v2.1/servers/${server.uuid}`, { server: { name: 'still-quiet' } });
      await client(plain.app, 'alice').post('/v2.1/os-keypairs', { keypair: { name: 'k' } });
      await plain.notifications.flush();
      const types = plain.transport.notifications.map((n) => {
        const message = JSON.parse((JSON.parse(n.body) as { 'oslo.message': string })['oslo.message']);
        return (message as { event_type: string }).event_type;
      });
      assert.deepEqual(types, ['keypair.create.start', 'keypair.create.end']);
    } finally {
      await plain.close();
    }
  });
});

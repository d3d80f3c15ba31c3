/** os-aggregates: admin only, Nova's bodies per microversion, hosts and metadata, and the zone rules. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerService } from '../../../src/objects/services.ts';
import { addComputeHost, client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'cmp1');
  await addComputeHost(h, 'cmp2');
  await addComputeHost(h, 'busy');
  await registerService(h.database.db, 'controller', 'stratus-conductor', 'conductor');
  await seedServer(h, { host: 'busy' });
});
after(async () => {
  await h.close();
});

const NAIVE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;
const admin = (version?: string) => client(h.app, 'admin', version);

async function create(name: string, zone?: string): Promise<number> {
  const res = await admin().post('/v2.1/os-aggregates', {
    aggregate: { name, ...(zone ? { availability_zone: zone } : {}) },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().aggregate.id as number;
}

async function countAggregates(): Promise<number> {
  return (await admin().get('/v2.1/os-aggregates')).json().aggregates.length;
}

describe('os-aggregates', () => {
  it('creates, shows, lists, updates and deletes with the bodies Nova gives', async () => {
    const created = await admin().post('/v2.1/os-aggregates', {
      aggregate: { name: 'agg1', availability_zone: 'az1' },
    });
    assert.equal(created.statusCode, 200);
    const body = created.json().aggregate;
    assert.deepEqual(Object.keys(body).sort(), [
      'availability_zone',
      'created_at',
      'deleted',
      'deleted_at',
      'id',
      'name',
      'updated_at',
    ]);
    assert.equal(body.availability_zone, 'az1');
    assert.equal(body.deleted, false);
    assert.equal(body.deleted_at, null);
    assert.equal(body.updated_at, null);
    assert.match(body.created_at, NAIVE_TIME);
    const id = body.id as number;
    assert.equal(typeof id, 'number');

    const shown = (await admin().get(`/v2.1/os-aggregates/${id}`)).json().aggregate;
    assert.deepEqual(shown.hosts, []);
    assert.deepEqual(shown.metadata, { availability_zone: 'az1' });
    assert.equal('uuid' in shown, false);
    const v241 = (await admin('2.41').get(`/v2.1/os-aggregates/${id}`)).json().aggregate;
    assert.match(v241.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const createdAt241 = (await admin('2.41').post('/v2.1/os-aggregates', { aggregate: { name: 'with-uuid' } })).json()
      .aggregate;
    assert.ok(createdAt241.uuid);
    assert.equal(createdAt241.availability_zone, null);

    const listed = (await admin().get('/v2.1/os-aggregates')).json().aggregates;
    assert.deepEqual(
      listed.map((a: { name: string }) => a.name),
      ['agg1', 'with-uuid'],
    );

    const renamed = await admin().put(`/v2.1/os-aggregates/${id}`, { aggregate: { name: ' agg1-renamed ' } });
    assert.equal(renamed.statusCode, 200);
    assert.equal(renamed.json().aggregate.name, 'agg1-renamed');
    assert.match(renamed.json().aggregate.updated_at, NAIVE_TIME);
    const rezoned = await admin().put(`/v2.1/os-aggregates/${id}`, { aggregate: { availability_zone: 'az2' } });
    assert.deepEqual(rezoned.json().aggregate.metadata, { availability_zone: 'az2' });
    assert.equal(rezoned.json().aggregate.availability_zone, 'az2');

    const dup = await admin().post('/v2.1/os-aggregates', { aggregate: { name: 'with-uuid' } });
    assert.equal(dup.statusCode, 409);
    assert.equal(fault(dup).message, 'Aggregate with-uuid already exists.');
    const dupRename = await admin().put(`/v2.1/os-aggregates/${id}`, { aggregate: { name: 'with-uuid' } });
    assert.equal(dupRename.statusCode, 409);

    for (const aggId of [id, createdAt241.id]) {
      const deleted = await admin().delete(`/v2.1/os-aggregates/${aggId}`);
      assert.equal(deleted.statusCode, 200);
      assert.equal(deleted.body, '');
    }
    const gone = await admin().get(`/v2.1/os-aggregates/${id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(fault(gone).message, `Aggregate ${id} could not be found.`);
    assert.equal((await admin().delete(`/v2.1/os-aggregates/${id}`)).statusCode, 404);
  });

  it('adds and removes compute hosts', async () => {
    const id = await create('hosts', 'az-h');
    const added = await admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'cmp1' } });
    assert.equal(added.statusCode, 200);
    assert.deepEqual(added.json().aggregate.hosts, ['cmp1']);
    const again = await admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'cmp1' } });
    assert.equal(again.statusCode, 409);
    assert.equal(fault(again).message, `Aggregate ${id} already has host cmp1.`);
    const unknown = await admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'nohost' } });
    assert.equal(unknown.statusCode, 404);
    assert.equal(fault(unknown).message, 'Compute host nohost could not be found.');
    const notCompute = await admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'controller' } });
    assert.equal(notCompute.statusCode, 404);
    const noAggregate = await admin().post('/v2.1/os-aggregates/999999/action', { add_host: { host: 'cmp1' } });
    assert.equal(noAggregate.statusCode, 404);

    const notEmpty = await admin().delete(`/v2.1/os-aggregates/${id}`);
    assert.equal(notEmpty.statusCode, 400);
    assert.match(fault(notEmpty).message, /Host aggregate is not empty/);

    const removed = await admin().post(`/v2.1/os-aggregates/${id}/action`, { remove_host: { host: 'cmp1' } });
    assert.equal(removed.statusCode, 200);
    assert.deepEqual(removed.json().aggregate.hosts, []);
    const notMember = await admin().post(`/v2.1/os-aggregates/${id}/action`, { remove_host: { host: 'cmp1' } });
    assert.equal(notMember.statusCode, 404);
    assert.equal(fault(notMember).message, `Cannot remove host cmp1 in aggregate ${id}`);
    assert.equal((await admin().delete(`/v2.1/os-aggregates/${id}`)).statusCode, 200);
  });

  it('sets metadata: null removes a key, and the zone is metadata', async () => {
    const id = await create('meta');
    const url = `/v2.1/os-aggregates/${id}/action`;
    const set = await admin('2.41').post(url, { set_metadata: { metadata: { ssd: 'true', rack: 'r1' } } });
    assert.equal(set.statusCode, 200);
    assert.deepEqual(set.json().aggregate.metadata, { ssd: 'true', rack: 'r1' });
    assert.ok(set.json().aggregate.uuid);
    const zoned = await admin().post(url, { set_metadata: { metadata: { rack: null, availability_zone: 'az-m' } } });
    assert.deepEqual(zoned.json().aggregate.metadata, { ssd: 'true', availability_zone: 'az-m' });
    assert.equal(zoned.json().aggregate.availability_zone, 'az-m');
    const emptyZone = await admin().post(url, { set_metadata: { metadata: { availability_zone: null } } });
    assert.equal(emptyZone.statusCode, 400);
    assert.match(fault(emptyZone).message, /does not support empty named availability zone/);
    assert.equal((await admin().delete(`/v2.1/os-aggregates/${id}`)).statusCode, 200);
  });

  it('keeps a host in one zone, and servers in theirs', async () => {
    const one = await create('zone-one', 'az-a');
    const two = await create('zone-two', 'az-b');
    const plain = await create('zone-none');
    const action = (id: number, body: unknown) => admin().post(`/v2.1/os-aggregates/${id}/action`, body);
    assert.equal((await action(one, { add_host: { host: 'cmp2' } })).statusCode, 200);
    assert.equal((await action(plain, { add_host: { host: 'cmp2' } })).statusCode, 200);

    const twoZones = await action(two, { add_host: { host: 'cmp2' } });
    assert.equal(twoZones.statusCode, 409);
    assert.equal(
      fault(twoZones).message,
      `Cannot add host to aggregate ${two}. Reason: One or more hosts already in availability zone(s) ['az-a'].`,
    );
    const byMetadata = await action(plain, { set_metadata: { metadata: { availability_zone: 'az-b' } } });
    assert.equal(byMetadata.statusCode, 400);
    assert.match(fault(byMetadata).message, /^Cannot update metadata of aggregate \d+\. Reason: One or more hosts/);
    const byUpdate = await admin().put(`/v2.1/os-aggregates/${plain}`, { aggregate: { availability_zone: 'az-b' } });
    assert.equal(byUpdate.statusCode, 400);
    assert.match(fault(byUpdate).message, /^Cannot update aggregate \d+\. Reason: One or more hosts/);

    // 'busy' runs a server in the default zone: it may not move to az-a.
    const moving = await action(one, { add_host: { host: 'busy' } });
    assert.equal(moving.statusCode, 409);
    assert.match(fault(moving).message, /would change from 'None' to 'az-a' but the host already has 1 instance\(s\)/);
    assert.equal((await action(plain, { add_host: { host: 'busy' } })).statusCode, 200);
    const rezoneBusy = await action(plain, { set_metadata: { metadata: { availability_zone: 'az-a' } } });
    assert.equal(rezoneBusy.statusCode, 400);
    assert.match(fault(rezoneBusy).message, /One or more hosts contain instances in this zone/);

    for (const [id, host] of [
      [one, 'cmp2'],
      [plain, 'cmp2'],
      [plain, 'busy'],
    ] as const) {
      assert.equal((await action(id, { remove_host: { host } })).statusCode, 200);
    }
    for (const id of [one, two, plain]) await admin().delete(`/v2.1/os-aggregates/${id}`);
  });

  it('answers bad input with a 400 that changes nothing', async () => {
    const id = await create('strict');
    const before = await countAggregates();
    const cases: [string, () => ReturnType<ReturnType<typeof admin>['post']>, RegExp][] = [
      ['no name', () => admin().post('/v2.1/os-aggregates', { aggregate: {} }), /'name' is a required property/],
      ['extra field', () => admin().post('/v2.1/os-aggregates', { aggregate: { name: 'x', foo: 1 } }), /'foo'/],
      [
        'zone with a colon',
        () => admin().post('/v2.1/os-aggregates', { aggregate: { name: 'x', availability_zone: 'a:b' } }),
        /except :/,
      ],
      ['name too long', () => admin().post('/v2.1/os-aggregates', { aggregate: { name: 'n'.repeat(256) } }), /name/],
      ['empty update', () => admin().put(`/v2.1/os-aggregates/${id}`, { aggregate: {} }), /required property/],
      [
        'two actions',
        () =>
          admin().post(`/v2.1/os-aggregates/${id}/action`, {
            add_host: { host: 'cmp1' },
            remove_host: { host: 'cmp1' },
          }),
        /Malformed request body/,
      ],
      [
        'unknown action',
        () => admin().post(`/v2.1/os-aggregates/${id}/action`, { explode: {} }),
        /There is no such action: explode/,
      ],
      ['bad host name', () => admin().post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'a b' } }), /host/],
      [
        'metadata not a map',
        () => admin().post(`/v2.1/os-aggregates/${id}/action`, { set_metadata: { metadata: ['x'] } }),
        /metadata/,
      ],
      [
        'metadata value a number',
        () => admin().post(`/v2.1/os-aggregates/${id}/action`, { set_metadata: { metadata: { k: 1 } } }),
        /metadata/,
      ],
      [
        'id not an integer',
        () => admin().get('/v2.1/os-aggregates/abc'),
        /^Invalid input received: id must be an integer$/,
      ],
    ];
    for (const [what, send, message] of cases) {
      const res = await send();
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      assert.match(fault(res).message, message, what);
    }
    assert.equal(await countAggregates(), before);
    const shown = (await admin().get(`/v2.1/os-aggregates/${id}`)).json().aggregate;
    assert.deepEqual([shown.name, shown.hosts, shown.metadata], ['strict', [], {}]);
    await admin().delete(`/v2.1/os-aggregates/${id}`);
  });

  it('is refused to members, also under the project path', async () => {
    const id = await create('private');
    for (const [method, url] of [
      ['get', '/v2.1/os-aggregates'],
      ['get', `/v2.1/os-aggregates/${id}`],
      ['delete', `/v2.1/os-aggregates/${id}`],
    ] as const) {
      const res = await client(h.app, 'alice')[method](url);
      assert.equal(res.statusCode, 403, url);
    }
    const res = await client(h.app, 'alice').post(`/v2.1/os-aggregates/${id}/action`, { add_host: { host: 'cmp1' } });
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, "Policy doesn't allow os_compute_api:os-aggregates:add_host to be performed.");
    assert.equal(
      (await client(h.app, 'alice').post('/v2.1/os-aggregates', { aggregate: { name: 'y' } })).statusCode,
      403,
    );
    await admin().delete(`/v2.1/os-aggregates/${id}`);
  });
});

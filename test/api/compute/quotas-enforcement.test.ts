/**
 * Quotas enforced by counting: server create (instances, cores, ram of the project and, with limits of
 * their own, the user; min_count/max_count as Nova lowers them), metadata items at create and on the
 * metadata routes, server groups and their members. Every refusal is a 403 in Nova's words that records
 * nothing; deleting servers gives the room back, since usage is counted, not kept.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { markInstanceDeleted } from '../../../src/objects/instances.ts';
import { client, countRows, fault, PROJECT_A, seedServer, type Harness } from './helpers.ts';
import { startWithProjects } from './quota-helpers.ts';

let h: Harness;
before(async () => {
  h = await startWithProjects();
});
after(() => h.close());

/** Every test starts from an empty project A with Nova's defaults. */
beforeEach(async () => {
  for (const table of ['instance_group_members', 'instance_groups', 'quotas', 'project_user_quotas'] as const) {
    await h.database.db.deleteFrom(table).execute();
  }
  const live = await h.database.db.selectFrom('instances').select('uuid').where('deleted', '=', 0).execute();
  for (const { uuid } of live) await markInstanceDeleted(h.database.db, uuid);
});

async function setQuota(values: Record<string, number>, userId?: string): Promise<void> {
  const query = userId ? `?user_id=${userId}` : '';
  const res = await client(h.app, 'admin').put(`/v2.1/os-quota-sets/${PROJECT_A}${query}`, {
    quota_set: { ...values, force: true },
  });
  assert.equal(res.statusCode, 200, res.body);
}

function boot(server: Record<string, unknown> = {}, hints?: Record<string, unknown>) {
  return client(h.app, 'alice').post('/v2.1/servers', {
    server: { name: 'q', flavorRef: h.tiny.flavorid, imageRef: h.cirros.id, ...server },
    ...(hints ? { 'os:scheduler_hints': hints } : {}),
  });
}

async function liveServers(): Promise<number> {
  const row = await h.database.db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', PROJECT_A)
    .where('deleted', '=', 0)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('server create', () => {
  it('refuses the server past the instances quota, naming it, and records nothing', async () => {
    await setQuota({ instances: 2 });
    assert.equal((await boot()).statusCode, 202);
    assert.equal((await boot()).statusCode, 202);
    const before = await countRows(h, 'instances');
    const res = await boot();
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).name, 'forbidden');
    assert.equal(fault(res).message, 'Quota exceeded for instances: Requested 1, but already used 2 of 2 instances');
    assert.equal(await countRows(h, 'instances'), before);
  });

  it('names every quota exceeded, with what each request needs', async () => {
    await setQuota({ instances: 1, cores: 1, ram: 512 });
    await seedServer(h);
    const res = await boot();
    assert.equal(res.statusCode, 403);
    assert.equal(
      fault(res).message,
      'Quota exceeded for cores, instances, ram: Requested 1, 1, 512, but already used 1, 1, 512 of 1, 1, 512 ' +
        'cores, instances, ram',
    );
  });

  it('lowers max_count to what fits when that still meets min_count', async () => {
    await setQuota({ cores: 3 });
    const res = await boot({ min_count: 1, max_count: 5 });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(await liveServers(), 3);
    const cast = h.transport.casts.at(-1)!;
    assert.equal((cast.args['instance_uuids'] as string[]).length, 3);
  });

  it('refuses when fewer than min_count fit', async () => {
    await setQuota({ cores: 3 });
    const res = await boot({ min_count: 4, max_count: 5 });
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, 'Quota exceeded for cores: Requested 5, but already used 0 of 3 cores');
    assert.equal(await liveServers(), 0);
  });

  it("checks the user's own limits when they have some", async () => {
    await setQuota({ instances: 1 }, 'alice');
    await seedServer(h, { user: 'carol' });
    assert.equal((await boot()).statusCode, 202);
    const res = await boot();
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, 'Quota exceeded for instances: Requested 1, but already used 1 of 1 instances');
  });

  it('gives the room back when servers are deleted: usage is counted, never kept', async () => {
    await setQuota({ instances: 1 });
    const first = await boot();
    assert.equal(first.statusCode, 202);
    assert.equal((await boot()).statusCode, 403);
    await markInstanceDeleted(h.database.db, first.json().server.id);
    assert.equal((await boot()).statusCode, 202);
  });

  it('counts unlimited as unlimited', async () => {
    await setQuota({ instances: -1, cores: -1, ram: -1 });
    assert.equal((await boot({ min_count: 25 })).statusCode, 202);
  });
});

describe('metadata items', () => {
  it('refuses a create with more metadata than the quota', async () => {
    await setQuota({ metadata_items: 2 });
    const res = await boot({ metadata: { a: '1', b: '2', c: '3' } });
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, 'Maximum number of metadata items exceeds 2');
    assert.equal(await liveServers(), 0);
    assert.equal((await boot({ metadata: { a: '1', b: '2' } })).statusCode, 202);
  });

  it('counts what a server would have after a metadata write', async () => {
    await setQuota({ metadata_items: 2 });
    const server = await seedServer(h);
    const base = `/v2.1/servers/${server.uuid}/metadata`;
    assert.equal((await client(h.app, 'alice').post(base, { metadata: { a: '1', b: '2' } })).statusCode, 200);
    // POST merges: a third key would make 3.
    const merged = await client(h.app, 'alice').post(base, { metadata: { c: '3' } });
    assert.equal(merged.statusCode, 403);
    assert.equal(fault(merged).message, 'Maximum number of metadata items exceeds 2');
    const item = await client(h.app, 'alice').put(`${base}/c`, { meta: { c: '3' } });
    assert.equal(item.statusCode, 403);
    // PUT replaces: two new keys are fine, and rewriting an existing key adds nothing.
    assert.equal((await client(h.app, 'alice').put(base, { metadata: { x: '1', y: '2' } })).statusCode, 200);
    assert.equal((await client(h.app, 'alice').put(`${base}/x`, { meta: { x: '9' } })).statusCode, 200);
    const three = await client(h.app, 'alice').put(base, { metadata: { x: '1', y: '2', z: '3' } });
    assert.equal(three.statusCode, 403);
    const shown = (await client(h.app, 'alice').get(base)).json().metadata;
    assert.deepEqual(shown, { x: '9', y: '2' });
  });
});

describe('server groups', () => {
  const group = (name: string) =>
    client(h.app, 'alice').post('/v2.1/os-server-groups', { server_group: { name, policies: ['affinity'] } });

  it('refuses a group past the server_groups quota', async () => {
    await setQuota({ server_groups: 1 });
    assert.equal((await group('one')).statusCode, 200);
    const res = await group('two');
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, 'Quota exceeded, too many server groups.');
    assert.equal((await h.database.db.selectFrom('instance_groups').selectAll().execute()).length, 1);
  });

  it('refuses servers past the server_group_members quota', async () => {
    await setQuota({ server_group_members: 2 });
    const id = (await group('members')).json().server_group.id as string;
    assert.equal((await boot({}, { group: id })).statusCode, 202);
    const res = await boot({ min_count: 2 }, { group: id });
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, 'Quota exceeded, too many servers in group');
    assert.equal(await liveServers(), 1);
    assert.equal((await boot({}, { group: id })).statusCode, 202);
  });
});

describe('key pairs', () => {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXlTQy8cS1ffWBUV5MKQDqOyAs3FbWEi4L5dcn4EGmX q@test';
  const create = (name: string) =>
    client(h.app, 'alice').post('/v2.1/os-keypairs', { keypair: { name, public_key: KEY } });

  beforeEach(() => h.database.db.deleteFrom('key_pairs').execute());

  it('refuses a key pair past the key_pairs quota, and counts it in the user quota detail', async () => {
    await setQuota({ key_pairs: 1 });
    assert.equal((await create('one')).statusCode, 200);
    const res = await create('two');
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, 'Quota exceeded, too many key pairs.');
    assert.equal((await h.database.db.selectFrom('key_pairs').selectAll().execute()).length, 1);
    const detail = await client(h.app, 'alice').get(`/v2.1/os-quota-sets/${PROJECT_A}/detail?user_id=alice`);
    assert.deepEqual(detail.json().quota_set.key_pairs, { in_use: 1, limit: 1, reserved: 0 });
  });
});

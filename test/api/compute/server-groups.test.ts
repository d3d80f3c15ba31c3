/**
 * os-server-groups: bodies per microversion (policies before 2.64, policy and rules from it, owner from
 * 2.13), project scoping, and servers joining a group through the `group` scheduler hint.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markInstanceDeleted } from '../../../src/objects/instances.ts';
import { client, countRows, fault, PROJECT_A, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
});
after(async () => {
  await h.close();
});

const URL = '/v2.1/os-server-groups';

async function createGroup(who: 'alice' | 'bob' | 'admin', body: unknown, version = '2.64'): Promise<string> {
  const res = await client(h.app, who, version).post(URL, body);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().server_group.id as string;
}

function boot(hints: Record<string, unknown>, who: 'alice' | 'bob' | 'admin' = 'alice', count = 1) {
  return client(h.app, who).post('/v2.1/servers', {
    server: { name: 'g', flavorRef: h.tiny.flavorid, imageRef: h.cirros.id, min_count: count },
    'os:scheduler_hints': hints,
  });
}

describe('os-server-groups', () => {
  it('creates with a policies list before 2.64, with the owner from 2.13', async () => {
    const v21 = await client(h.app, 'alice').post(URL, { server_group: { name: 'old', policies: ['affinity'] } });
    assert.equal(v21.statusCode, 200);
    const group = v21.json().server_group;
    assert.deepEqual(Object.keys(group).sort(), ['id', 'members', 'metadata', 'name', 'policies']);
    assert.deepEqual([group.name, group.policies, group.members, group.metadata], ['old', ['affinity'], [], {}]);

    const v213 = (await client(h.app, 'alice', '2.13').get(`${URL}/${group.id}`)).json().server_group;
    assert.equal(v213.project_id, PROJECT_A);
    assert.equal(v213.user_id, 'alice');

    // The soft policies exist from 2.15.
    const soft = { server_group: { name: 'soft', policies: ['soft-anti-affinity'] } };
    assert.equal((await client(h.app, 'alice', '2.14').post(URL, soft)).statusCode, 400);
    const v215 = await client(h.app, 'alice', '2.15').post(URL, soft);
    assert.equal(v215.statusCode, 200);
    // Shown at 2.64, an old group has a policy and no rules.
    const seen = (await client(h.app, 'alice', '2.64').get(`${URL}/${v215.json().server_group.id}`)).json()
      .server_group;
    assert.equal(seen.policy, 'soft-anti-affinity');
    assert.deepEqual(seen.rules, {});
    assert.equal('policies' in seen || 'metadata' in seen, false);
  });

  it('creates with policy and rules from 2.64', async () => {
    const res = await client(h.app, 'alice', '2.64').post(URL, {
      server_group: { name: 'spread', policy: 'anti-affinity', rules: { max_server_per_host: 3 } },
    });
    assert.equal(res.statusCode, 200);
    const group = res.json().server_group;
    assert.deepEqual(Object.keys(group).sort(), ['id', 'members', 'name', 'policy', 'project_id', 'rules', 'user_id']);
    assert.deepEqual(group.rules, { max_server_per_host: 3 });
    const asString = await client(h.app, 'alice', '2.64').post(URL, {
      server_group: { name: 'str', policy: 'anti-affinity', rules: { max_server_per_host: '2' } },
    });
    assert.deepEqual(asString.json().server_group.rules, { max_server_per_host: 2 });
    const noRules = await client(h.app, 'alice', '2.64').post(URL, { server_group: { name: 'a', policy: 'affinity' } });
    assert.deepEqual(noRules.json().server_group.rules, {});
  });

  it('refuses bad bodies with a 400 and creates nothing', async () => {
    const count = async () => (await client(h.app, 'admin').get(`${URL}?all_projects=1`)).json().server_groups.length;
    const before = await count();
    const cases: [string, string, unknown, RegExp][] = [
      ['2.1', 'no policies', { server_group: { name: 'x' } }, /'policies' is a required property/],
      ['2.1', 'two policies', { server_group: { name: 'x', policies: ['affinity', 'anti-affinity'] } }, /policies/],
      ['2.1', 'unknown policy', { server_group: { name: 'x', policies: ['sideways'] } }, /policies/],
      [
        '2.1',
        'policy at 2.1',
        { server_group: { name: 'x', policies: ['affinity'], policy: 'affinity' } },
        /'policy' was unexpected/,
      ],
      [
        '2.64',
        'policies at 2.64',
        { server_group: { name: 'x', policy: 'affinity', policies: ['affinity'] } },
        /'policies' was unexpected/,
      ],
      ['2.64', 'no name', { server_group: { policy: 'affinity' } }, /'name' is a required property/],
      [
        '2.64',
        'rules for affinity',
        { server_group: { name: 'x', policy: 'affinity', rules: { max_server_per_host: 2 } } },
        /^Only anti-affinity policy supports rules\.$/,
      ],
      [
        '2.64',
        'max_server_per_host 0',
        { server_group: { name: 'x', policy: 'anti-affinity', rules: { max_server_per_host: 0 } } },
        /max_server_per_host/,
      ],
      [
        '2.64',
        'unknown rule',
        { server_group: { name: 'x', policy: 'anti-affinity', rules: { spread: 1 } } },
        /'spread' was unexpected/,
      ],
    ];
    for (const [version, what, body, message] of cases) {
      const res = await client(h.app, 'alice', version).post(URL, body);
      assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
      assert.match(fault(res).message, message, what);
    }
    assert.equal(await count(), before);
  });

  it("lists a project's own groups; admins see all with all_projects", async () => {
    const bobs = await createGroup('bob', { server_group: { name: 'bobs', policy: 'affinity' } });
    const alices = (await client(h.app, 'alice').get(URL)).json().server_groups.map((g: { id: string }) => g.id);
    assert.ok(alices.length >= 1);
    assert.ok(!alices.includes(bobs));
    // all_projects is ignored for members, as in Nova.
    const stillOwn = (await client(h.app, 'alice').get(`${URL}?all_projects=True`)).json().server_groups;
    assert.deepEqual(
      stillOwn.map((g: { id: string }) => g.id),
      alices,
    );
    const all = (await client(h.app, 'admin').get(`${URL}?all_projects=True`)).json().server_groups;
    assert.ok(all.some((g: { id: string }) => g.id === bobs));
    assert.deepEqual((await client(h.app, 'admin').get(URL)).json().server_groups, [], "admin's own project has none");

    const paged = (await client(h.app, 'admin').get(`${URL}?all_projects=1&limit=1&offset=1`)).json().server_groups;
    assert.deepEqual(
      paged.map((g: { id: string }) => g.id),
      [all[1].id],
    );
    const badLimit = await client(h.app, 'alice').get(`${URL}?limit=-1`);
    assert.equal(badLimit.statusCode, 400);
    assert.equal((await client(h.app, 'alice').get(`${URL}?foo=1`)).statusCode, 200);
    const strict = await client(h.app, 'alice', '2.75').get(`${URL}?foo=1`);
    assert.equal(strict.statusCode, 400);
    assert.match(fault(strict).message, /'foo' was unexpected/);
  });

  it("hides another project's group, except from admins, and deletes", async () => {
    const id = await createGroup('bob', { server_group: { name: 'mine', policy: 'anti-affinity' } });
    const hidden = await client(h.app, 'alice').get(`${URL}/${id}`);
    assert.equal(hidden.statusCode, 404);
    assert.equal(fault(hidden).message, `Instance group ${id} could not be found.`);
    assert.equal((await client(h.app, 'alice').delete(`${URL}/${id}`)).statusCode, 404);
    assert.equal((await client(h.app, 'admin').get(`${URL}/${id}`)).statusCode, 200);
    const deleted = await client(h.app, 'bob').delete(`${URL}/${id}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal((await client(h.app, 'bob').get(`${URL}/${id}`)).statusCode, 404);
    assert.equal((await client(h.app, 'bob').get(`${URL}/not-a-uuid`)).statusCode, 404);
  });
});

describe('servers created into a group', () => {
  it('joins the group named by the group hint, and leaves it when deleted', async () => {
    const id = await createGroup('alice', { server_group: { name: 'web', policy: 'anti-affinity' } });
    const res = await boot({ group: id }, 'alice', 2);
    assert.equal(res.statusCode, 202, res.body);
    const group = (await client(h.app, 'alice').get(`${URL}/${id}`)).json().server_group;
    assert.equal(group.members.length, 2);
    assert.ok(group.members.includes(res.json().server.id));
    const spec = await h.database.db
      .selectFrom('request_specs')
      .select('spec')
      .where('instance_uuid', '=', res.json().server.id)
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(spec.spec).scheduler_hints.group, id, 'the hint reaches the scheduler');

    await markInstanceDeleted(h.database.db, res.json().server.id);
    const after = (await client(h.app, 'alice').get(`${URL}/${id}`)).json().server_group;
    assert.equal(after.members.length, 1);
    assert.equal((await boot({ group: [id] })).statusCode, 202, 'a one-item list names the group too');
  });

  it('refuses a hint that is not a uuid or names no group of the project, creating nothing', async () => {
    const bobs = await createGroup('bob', { server_group: { name: 'b', policy: 'affinity' } });
    const before = await countRows(h, 'instances');
    const notUuid = await boot({ group: 'web' });
    assert.equal(notUuid.statusCode, 400);
    assert.match(fault(notUuid).message, /group/);
    const missing = '0b5c8a5e-9f1e-4a48-9d3c-9a1f5bb0b0b0';
    const unknown = await boot({ group: missing });
    assert.equal(unknown.statusCode, 400);
    assert.equal(fault(unknown).message, `Instance group ${missing} could not be found.`);
    const others = await boot({ group: bobs });
    assert.equal(others.statusCode, 400);
    assert.equal(fault(others).message, `Instance group ${bobs} could not be found.`);
    const two = await boot({ group: [bobs, missing] });
    assert.equal(two.statusCode, 400);
    assert.equal(await countRows(h, 'instances'), before);
    // An admin may put a server in any project's group.
    assert.equal((await boot({ group: bobs }, 'admin')).statusCode, 202);
    const members = (await client(h.app, 'bob').get(`${URL}/${bobs}`)).json().server_group.members;
    assert.equal(members.length, 1);
  });
});

/**
 * os-quota-sets and os-quota-class-sets: bodies per microversion (checked against the strict schemas),
 * Nova's policy, the limits' sources (user over project over the default class over [quota]), the
 * usage counted in the detail, and the refusals of bad updates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markInstanceDeleted, updateInstance } from '../../../src/objects/instances.ts';
import { VmState } from '../../../src/wire/messages/instance-states.ts';
import { client, fault, PROJECT_A, PROJECT_ADMIN, PROJECT_B, seedServer, type Harness } from './helpers.ts';
import { startWithProjects } from './quota-helpers.ts';
import { formatVersion, MAX_VERSION } from '../../../src/api/compute/microversion.ts';

/** The newest microversion Stratus serves. */
const LATEST = formatVersion(MAX_VERSION);

type Method = 'GET' | 'PUT' | 'DELETE';

/** Sends a request as `who` at `version` (the harness checks every answer against its strict schema). */
async function call(
  h: Harness,
  who: 'alice' | 'bob' | 'admin',
  version: string,
  method: Method,
  url: string,
  body?: unknown,
) {
  const c = client(h.app, who, version);
  return method === 'GET' ? c.get(url) : method === 'PUT' ? c.put(url, body) : c.delete(url);
}

const url = (project: string, tail = '') => `/v2.1/os-quota-sets/${project}${tail}`;

describe('os-quota-sets', () => {
  let h: Harness;
  before(async () => {
    h = await startWithProjects();
  });
  after(() => h.close());

  it("shows a project's limits with the resources of each microversion", async () => {
    for (const version of ['2.1', '2.35', '2.36', '2.56', '2.57', LATEST]) {
      const res = await call(h, 'alice', version, 'GET', url(PROJECT_A));
      assert.equal(res.statusCode, 200, res.body);
      const set = res.json().quota_set;
      assert.equal(set.id, PROJECT_A);
      assert.deepEqual([set.instances, set.cores, set.ram, set.key_pairs], [10, 20, 51200, 100]);
      assert.deepEqual([set.metadata_items, set.server_groups, set.server_group_members], [128, 10, 10]);
      if (version === '2.1') {
        assert.deepEqual([set.fixed_ips, set.floating_ips, set.security_groups], [-1, -1, -1]);
        assert.deepEqual(
          [set.injected_files, set.injected_file_content_bytes, set.injected_file_path_bytes],
          [5, 10240, 255],
        );
      }
    }
  });

  it('lets a member read only their own project; admins read any', async () => {
    const other = await client(h.app, 'alice').get(url(PROJECT_B));
    assert.equal(other.statusCode, 403);
    assert.equal(fault(other).message, "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
    assert.equal((await client(h.app, 'alice').get(url(PROJECT_B, '/detail'))).statusCode, 403);
    assert.equal((await call(h, 'admin', '2.1', 'GET', url(PROJECT_B))).statusCode, 200);
    // Through the project-scoped prefix too.
    assert.equal((await client(h.app, 'alice').get(`/v2.1/${PROJECT_A}/os-quota-sets/${PROJECT_A}`)).statusCode, 200);
  });

  it('refuses a project the identity service does not know', async () => {
    const res = await client(h.app, 'admin').get(url('0123456789abcdef0123456789abcdef'));
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Project ID 0123456789abcdef0123456789abcdef is not a valid project.');
  });

  it('counts what the project and the user use in the detail', async () => {
    const first = await seedServer(h, { user: 'alice' });
    await seedServer(h, { user: 'carol' });
    const gone = await seedServer(h, { user: 'alice' });
    await markInstanceDeleted(h.database.db, gone.uuid);
    // A soft-deleted server is not counted, as in Nova (restoring it is checked again).
    const soft = await seedServer(h, { user: 'alice' });
    await updateInstance(h.database.db, soft.uuid, { vm_state: VmState.SOFT_DELETED });
    await seedServer(h, { project: PROJECT_B, user: 'bob' });
    const group = await client(h.app, 'alice').post('/v2.1/os-server-groups', {
      server_group: { name: 'g', policies: ['affinity'] },
    });
    assert.equal(group.statusCode, 200);

    for (const version of ['2.1', '2.36', '2.57']) {
      const res = await call(h, 'alice', version, 'GET', url(PROJECT_A, '/detail'));
      assert.equal(res.statusCode, 200, res.body);
      const set = res.json().quota_set;
      assert.deepEqual(set.instances, { in_use: 2, limit: 10, reserved: 0 });
      assert.deepEqual(set.cores, { in_use: 2, limit: 20, reserved: 0 });
      assert.deepEqual(set.ram, { in_use: 1024, limit: 51200, reserved: 0 });
      assert.deepEqual(set.server_groups, { in_use: 1, limit: 10, reserved: 0 });
      // Key pairs and group members are counted per user or per group, not shown per project.
      assert.deepEqual(set.key_pairs, { in_use: 0, limit: 100, reserved: 0 });
    }
    const mine = (await client(h.app, 'alice').get(url(PROJECT_A, '/detail?user_id=alice'))).json().quota_set;
    assert.deepEqual(mine.instances, { in_use: 1, limit: 10, reserved: 0 });
    assert.equal(first.user_id, 'alice');
  });

  it('shows the defaults to anyone, from the default class over [quota]', async () => {
    const res = await call(h, 'bob', '2.1', 'GET', url(PROJECT_A, '/defaults'));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().quota_set.id, PROJECT_A);
    assert.equal(res.json().quota_set.instances, 10);
    const put = await client(h.app, 'admin', '2.57').put('/v2.1/os-quota-class-sets/default', {
      quota_class_set: { instances: 7 },
    });
    assert.equal(put.statusCode, 200, put.body);
    const after = await call(h, 'bob', '2.57', 'GET', url(PROJECT_B, '/defaults'));
    assert.equal(after.json().quota_set.instances, 7);
    // A project without limits of its own has the defaults.
    assert.equal((await client(h.app, 'bob').get(url(PROJECT_B))).json().quota_set.instances, 7);
    await client(h.app, 'admin').put('/v2.1/os-quota-class-sets/default', { quota_class_set: { instances: 10 } });
  });

  it("updates a project's limits (admins only) and answers without the id", async () => {
    const member = await client(h.app, 'alice').put(url(PROJECT_A), { quota_set: { instances: 50 } });
    assert.equal(member.statusCode, 403);
    assert.equal(fault(member).message, "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.");

    const res = await call(h, 'admin', '2.57', 'PUT', url(PROJECT_B), {
      quota_set: { instances: '15', cores: 30, ram: -1 },
    });
    assert.equal(res.statusCode, 200, res.body);
    const set = res.json().quota_set;
    assert.equal('id' in set, false);
    assert.deepEqual([set.instances, set.cores, set.ram], [15, 30, -1]);
    assert.equal((await client(h.app, 'bob').get(url(PROJECT_B))).json().quota_set.instances, 15);
    // An update at 2.1 answers with the resources of 2.1.
    const old = await call(h, 'admin', '2.1', 'PUT', url(PROJECT_B), { quota_set: { floating_ips: 3 } });
    assert.equal(old.json().quota_set.floating_ips, 3);
  });

  it('refuses bad values and keys with a 400 that changes nothing', async () => {
    const bad: [unknown, string][] = [
      [{ quota_set: { instances: -2 } }, 'instances'],
      [{ quota_set: { instances: '-5' } }, 'instances'],
      [{ quota_set: { instances: 'ten' } }, 'instances'],
      [{ quota_set: { instances: 1.5 } }, 'instances'],
      [{ quota_set: { instances: 2147483648 } }, 'instances'],
      [{ quota_set: { widgets: 1 } }, 'widgets'],
      [{ quota_set: { force: 'maybe' } }, 'force'],
      [{ quotas: { instances: 1 } }, 'quota_set'],
    ];
    for (const [body, named] of bad) {
      const res = await client(h.app, 'admin', '2.57').put(url(PROJECT_A), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.match(fault(res).message, new RegExp(named), JSON.stringify(body));
    }
    // nova-network's and the personality files' resources are gone from 2.36 and 2.57.
    const network = await client(h.app, 'admin', '2.36').put(url(PROJECT_A), { quota_set: { floating_ips: 1 } });
    assert.equal(network.statusCode, 400);
    const files = await client(h.app, 'admin', '2.57').put(url(PROJECT_A), { quota_set: { injected_files: 1 } });
    assert.equal(files.statusCode, 400);
    assert.equal((await client(h.app, 'alice').get(url(PROJECT_A))).json().quota_set.instances, 10);
  });

  it('refuses a limit below what is in use unless forced', async () => {
    // PROJECT_A runs 2 servers (seeded above).
    const res = await client(h.app, 'admin').put(url(PROJECT_A), { quota_set: { instances: 1 } });
    assert.equal(res.statusCode, 400);
    assert.equal(
      fault(res).message,
      'Quota limit 1 for instances must be greater than or equal to already used and reserved 2.',
    );
    const forced = await client(h.app, 'admin').put(url(PROJECT_A), { quota_set: { instances: 1, force: 'True' } });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.equal(forced.json().quota_set.instances, 1);
    // Unlimited is always above the usage.
    assert.equal((await client(h.app, 'admin').put(url(PROJECT_A), { quota_set: { instances: -1 } })).statusCode, 200);
  });

  it("sets a user's limits within what the project leaves", async () => {
    await client(h.app, 'admin').put(url(PROJECT_A), { quota_set: { cores: 20 } });
    const res = await call(h, 'admin', '2.57', 'PUT', url(PROJECT_A, '?user_id=alice'), {
      quota_set: { cores: 8 },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().quota_set.cores, 8);
    const shown = (await client(h.app, 'alice').get(url(PROJECT_A, '?user_id=alice'))).json().quota_set;
    assert.equal(shown.cores, 8);
    assert.equal((await client(h.app, 'alice').get(url(PROJECT_A))).json().quota_set.cores, 20);
    // carol may have at most what the project has left: 20 - 8.
    const tooMuch = await client(h.app, 'admin').put(url(PROJECT_A, '?user_id=carol'), { quota_set: { cores: 13 } });
    assert.equal(tooMuch.statusCode, 400);
    assert.equal(fault(tooMuch).message, 'Quota limit 13 for cores must be less than or equal to 12.');
    // The project's limit may not go below what its users were given.
    const below = await client(h.app, 'admin').put(url(PROJECT_A), { quota_set: { cores: 5 } });
    assert.equal(below.statusCode, 400);
    assert.match(fault(below).message, /already used and reserved 8\./);
  });

  it("deletes a user's limits, then a project's, with 202 and no body", async () => {
    const member = await client(h.app, 'alice').delete(url(PROJECT_A));
    assert.equal(member.statusCode, 403);
    const user = await call(h, 'admin', '2.1', 'DELETE', url(PROJECT_A, '?user_id=alice'));
    assert.equal(user.statusCode, 202);
    assert.equal(user.body, '');
    assert.equal((await client(h.app, 'alice').get(url(PROJECT_A, '?user_id=alice'))).json().quota_set.cores, 20);
    assert.equal((await call(h, 'admin', '2.1', 'DELETE', url(PROJECT_A))).statusCode, 202);
    const set = (await client(h.app, 'alice').get(url(PROJECT_A))).json().quota_set;
    assert.deepEqual([set.instances, set.cores], [10, 20]);
  });

  it('refuses unknown query parameters from 2.75 only', async () => {
    assert.equal((await client(h.app, 'alice', '2.74').get(url(PROJECT_A, '?foo=1'))).statusCode, 200);
    const res = await client(h.app, 'alice', '2.75').get(url(PROJECT_A, '?foo=1'));
    assert.equal(res.statusCode, 400);
    assert.match(fault(res).message, /'foo' was unexpected/);
  });
});

describe('os-quota-class-sets', () => {
  let h: Harness;
  before(async () => {
    h = await startWithProjects();
  });
  after(() => h.close());

  it('shows a class to admins, with server groups from 2.50', async () => {
    const member = await client(h.app, 'alice').get('/v2.1/os-quota-class-sets/default');
    assert.equal(member.statusCode, 403);
    assert.equal(
      fault(member).message,
      "Policy doesn't allow os_compute_api:os-quota-class-sets:show to be performed.",
    );
    for (const version of ['2.1', '2.49', '2.50', '2.56', '2.57']) {
      const res = await call(h, 'admin', version, 'GET', '/v2.1/os-quota-class-sets/default');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().quota_class_set.id, 'default');
      assert.equal(res.json().quota_class_set.cores, 20);
    }
  });

  it('updates a class (admins only); other classes fall back to [quota], not to default', async () => {
    const member = await client(h.app, 'alice').put('/v2.1/os-quota-class-sets/gold', {
      quota_class_set: { cores: 1 },
    });
    assert.equal(member.statusCode, 403);
    const res = await call(h, 'admin', '2.50', 'PUT', '/v2.1/os-quota-class-sets/gold', {
      quota_class_set: { cores: 64, server_groups: '3' },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal('id' in res.json().quota_class_set, false);
    assert.deepEqual([res.json().quota_class_set.cores, res.json().quota_class_set.server_groups], [64, 3]);
    const shown = await call(h, 'admin', '2.57', 'GET', '/v2.1/os-quota-class-sets/gold');
    assert.equal(shown.json().quota_class_set.instances, 10);
    // Before 2.50 the server group resources may be set, though not shown.
    const old = await call(h, 'admin', '2.1', 'PUT', '/v2.1/os-quota-class-sets/gold', {
      quota_class_set: { server_group_members: 4, fixed_ips: 2 },
    });
    assert.equal(old.statusCode, 200, old.body);
    assert.equal(old.json().quota_class_set.fixed_ips, 2);
    const bad = await client(h.app, 'admin', '2.57').put('/v2.1/os-quota-class-sets/gold', {
      quota_class_set: { fixed_ips: 2 },
    });
    assert.equal(bad.statusCode, 400);
    const negative = await client(h.app, 'admin').put('/v2.1/os-quota-class-sets/gold', {
      quota_class_set: { cores: -3 },
    });
    assert.equal(negative.statusCode, 400);
    assert.equal(PROJECT_ADMIN.length, 32);
  });
});

describe('the NoopQuotaDriver', () => {
  let h: Harness;
  before(async () => {
    h = await startWithProjects({ driver: 'nova.quota.NoopQuotaDriver', instances: '1' });
  });
  after(() => h.close());

  it('shows every limit unlimited and enforces nothing', async () => {
    const set = (await client(h.app, 'alice').get(url(PROJECT_A, '/detail'))).json().quota_set;
    assert.deepEqual(set.instances, { in_use: -1, limit: -1, reserved: -1 });
    const boot = await client(h.app, 'alice').post('/v2.1/servers', {
      server: { name: 'n', flavorRef: h.tiny.flavorid, imageRef: h.cirros.id, min_count: 3 },
    });
    assert.equal(boot.statusCode, 202, boot.body);
  });
});

/** os-simple-tenant-usage: hours per server and totals per project, Nova's formats, paging and rules. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markInstanceDeleted } from '../../../src/objects/instances.ts';
import { createFlavor } from '../../../src/objects/flavors.ts';
import { PROJECT_A, PROJECT_B, client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let running: string;
let deleted: string;
let big: string;

const PERIOD = 'start=2026-01-01T00:00:00&end=2026-01-03T00:00:00';

before(async () => {
  h = await startComputeApi();
  const medium = await createFlavor(h.database.db, {
    flavorid: '2',
    name: 'm1.medium',
    memory_mb: 2048,
    vcpus: 2,
    root_gb: 10,
    ephemeral_gb: 5,
  });
  // Project A: one server running since the period's start, one of 2 vCPUs from its second day.
  running = (await seedServer(h, { name: 'runs', state: { launched_at: '2026-01-01T00:00:00.000Z' } })).uuid;
  big = (await seedServer(h, { name: 'big', flavor: medium, state: { launched_at: '2026-01-02T00:00:00.000Z' } })).uuid;
  // Project B: one server that ran 12 hours and was deleted, one never launched, one launched after the period.
  deleted = (
    await seedServer(h, {
      project: PROJECT_B,
      user: 'bob',
      name: 'gone',
      state: { launched_at: '2026-01-01T12:00:00.000Z' },
    })
  ).uuid;
  await markInstanceDeleted(h.database.db, deleted);
  await h.database.db
    .updateTable('instances')
    .set({ terminated_at: '2026-01-02T00:00:00.000Z' })
    .where('uuid', '=', deleted)
    .execute();
  await seedServer(h, { project: PROJECT_B, name: 'building', host: null });
  await seedServer(h, { project: PROJECT_B, name: 'later', state: { launched_at: '2026-02-01T00:00:00.000Z' } });
});
after(async () => {
  await h.close();
});

describe('os-simple-tenant-usage', () => {
  it('charges each server the hours of the period it ran, and sums them per project', async () => {
    const res = await client(h.app, 'admin').get(`/v2.1/os-simple-tenant-usage?${PERIOD}&detailed=1`);
    assert.equal(res.statusCode, 200);
    const [a, b] = res.json().tenant_usages;
    assert.equal(a.tenant_id, PROJECT_A);
    assert.equal(a.start, '2026-01-01T00:00:00');
    assert.equal(a.stop, '2026-01-03T00:00:00');
    // 48 h of m1.tiny and 24 h of m1.medium.
    assert.equal(a.total_hours, 72);
    assert.equal(a.total_vcpus_usage, 48 * 1 + 24 * 2);
    assert.equal(a.total_memory_mb_usage, 48 * 512 + 24 * 2048);
    assert.equal(a.total_local_gb_usage, 48 * 1 + 24 * 15);
    const byId = new Map(a.server_usages.map((s: { instance_id: string }) => [s.instance_id, s]));
    assert.deepEqual(byId.get(big), {
      instance_id: big,
      name: 'big',
      tenant_id: PROJECT_A,
      flavor: 'm1.medium',
      hours: 24,
      vcpus: 2,
      memory_mb: 2048,
      local_gb: 15,
      started_at: '2026-01-02T00:00:00',
      ended_at: null,
      state: 'active',
      uptime: (byId.get(big) as { uptime: number }).uptime,
    });
    assert.ok((byId.get(running) as { uptime: number }).uptime > 86400 * 300);
    assert.equal(b.tenant_id, PROJECT_B);
    assert.equal(b.total_hours, 12);
    const [gone] = b.server_usages;
    assert.equal(gone.instance_id, deleted);
    assert.equal(gone.state, 'terminated');
    assert.equal(gone.ended_at, '2026-01-02T00:00:00');
    assert.equal(gone.uptime, 12 * 3600);
    assert.equal(b.server_usages.length, 1, 'never launched and launched later are not charged');
  });

  it('leaves the servers out unless detailed=1, and accepts Nova time formats', async () => {
    const res = await client(h.app, 'admin').get(
      '/v2.1/os-simple-tenant-usage?start=2026-01-01%2000:00:00.000000&end=2026-01-01T06:00:00.5',
    );
    assert.equal(res.statusCode, 200);
    const [a] = res.json().tenant_usages;
    assert.equal('server_usages' in a, false);
    assert.equal(a.stop, '2026-01-01T06:00:00.500000');
    assert.equal(a.total_hours, 6 + 0.5 / 3600);
  });

  it('refuses bad times and reversed periods with 400', async () => {
    const admin = client(h.app, 'admin');
    for (const query of ['start=2026-01-01', 'end=yesterday', 'start=2026-02-30T00:00:00']) {
      const res = await admin.get(`/v2.1/os-simple-tenant-usage?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.equal(fault(res).message, 'Invalid datetime string: Datetime is in invalid format');
    }
    const reversed = await admin.get('/v2.1/os-simple-tenant-usage?start=2026-01-03T00:00:00&end=2026-01-01T00:00:00');
    assert.equal(reversed.statusCode, 400);
    assert.equal(fault(reversed).message, 'Invalid start time. The start time cannot occur after the end time.');
  });

  it('shows a project to its members and admins only, empty when it used nothing', async () => {
    const own = await client(h.app, 'alice').get(`/v2.1/os-simple-tenant-usage/${PROJECT_A}?${PERIOD}`);
    assert.equal(own.statusCode, 200);
    assert.equal(own.json().tenant_usage.server_usages.length, 2);
    const other = await client(h.app, 'alice').get(`/v2.1/os-simple-tenant-usage/${PROJECT_B}?${PERIOD}`);
    assert.equal(other.statusCode, 403);
    assert.equal(
      fault(other).message,
      "Policy doesn't allow os_compute_api:os-simple-tenant-usage:show to be performed.",
    );
    const list = await client(h.app, 'alice').get('/v2.1/os-simple-tenant-usage');
    assert.equal(list.statusCode, 403);
    const empty = await client(h.app, 'admin').get('/v2.1/os-simple-tenant-usage/nobody?start=2020-01-01T00:00:00');
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.json(), { tenant_usage: {} });
  });

  it('pages by server from 2.40 with a next link, and ignores paging before', async () => {
    const v240 = client(h.app, 'admin', '2.40');
    const first = await v240.get(`/v2.1/os-simple-tenant-usage?${PERIOD}&detailed=1&limit=2`);
    assert.equal(first.statusCode, 200);
    const ids = first.json().tenant_usages[0].server_usages.map((s: { instance_id: string }) => s.instance_id);
    assert.deepEqual(ids, [running, big].sort());
    const [link] = first.json().tenant_usages_links;
    assert.equal(link.rel, 'next');
    const next = new URL(link.href);
    assert.equal(next.pathname, '/v2.1/os-simple-tenant-usage');
    assert.equal(next.searchParams.get('marker'), ids[1]);
    assert.equal(next.searchParams.get('limit'), '2');
    const second = await v240.get(`${next.pathname}${next.search}`);
    assert.deepEqual(
      second.json().tenant_usages.map((u: { tenant_id: string }) => u.tenant_id),
      [PROJECT_B],
    );
    assert.equal('tenant_usages_links' in second.json(), false);
    const badMarker = await v240.get('/v2.1/os-simple-tenant-usage?marker=nope');
    assert.equal(badMarker.statusCode, 400);
    assert.equal(fault(badMarker).message, 'Marker nope could not be found.');
    const old = await client(h.app, 'admin', '2.39').get(`/v2.1/os-simple-tenant-usage?${PERIOD}&limit=1`);
    assert.equal(old.json().tenant_usages.length, 2);
    assert.equal('tenant_usages_links' in old.json(), false);
    const shown = await v240.get(`/v2.1/os-simple-tenant-usage/${PROJECT_A}?${PERIOD}&limit=1`);
    assert.equal(shown.statusCode, 200);
    assert.match(shown.json().tenant_usage_links[0].href, new RegExp(`/os-simple-tenant-usage/${PROJECT_A}\\?`));
  });

  it('refuses unknown query parameters from 2.75 only', async () => {
    assert.equal((await client(h.app, 'admin', '2.74').get('/v2.1/os-simple-tenant-usage?foo=1')).statusCode, 200);
    const res = await client(h.app, 'admin', '2.75').get('/v2.1/os-simple-tenant-usage?foo=1');
    assert.equal(res.statusCode, 400);
    assert.match(fault(res).message, /'foo' was unexpected/);
    const show = await client(h.app, 'admin', '2.75').get(`/v2.1/os-simple-tenant-usage/${PROJECT_A}?detailed=1`);
    assert.equal(show.statusCode, 400, 'detailed is not a parameter of show');
  });
});

/** GET /servers and /servers/detail: project scoping, filters and paging. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFlavor } from '../../../src/objects/flavors.ts';
import { markInstanceDeleted, type Instance } from '../../../src/objects/instances.ts';
import { client, fault, PROJECT_B, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let alices: Instance[];
let bobs: Instance;
let stopped: Instance;
let gone: Instance;

before(async () => {
  h = await startComputeApi({ DEFAULT: { osapi_max_limit: '5' } });
  const small = await createFlavor(h.database.db, {
    flavorid: '2',
    name: 'm1.small',
    memory_mb: 2048,
    vcpus: 1,
    root_gb: 20,
  });
  alices = [];
  for (let i = 0; i < 4; i++) alices.push(await seedServer(h, { name: `web-${i}` }));
  alices.push(await seedServer(h, { name: 'db-0', flavor: small, host: 'host2' }));
  stopped = await seedServer(h, { name: 'db-1', state: { vm_state: 'stopped', power_state: 4 } });
  alices.push(stopped);
  gone = await seedServer(h, { name: 'old' });
  await markInstanceDeleted(h.database.db, gone.uuid);
  bobs = await seedServer(h, { project: PROJECT_B, user: 'bob', name: 'bobs' });
});
after(async () => {
  await h.close();
});

const names = (res: { json(): { servers: { name: string }[] } }) => res.json().servers.map((s) => s.name);
const newestFirst = () => [...alices].reverse().map((i) => i.display_name);

describe('GET /servers', () => {
  it("lists the caller's project only, newest first, with id, name and links", async () => {
    const res = await client(h.app, 'alice').get('/v2.1/servers?limit=100');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(names(res), newestFirst().slice(0, 5));
    const first = res.json().servers[0];
    assert.deepEqual(Object.keys(first).sort(), ['id', 'links', 'name']);
    const bobView = await client(h.app, 'bob').get('/v2.1/servers');
    assert.deepEqual(names(bobView), ['bobs']);
  });

  it('caps the page at osapi_max_limit and links the next page until the end', async () => {
    const seen: string[] = [];
    let url: string | undefined = '/v2.1/servers';
    let pages = 0;
    while (url) {
      const res = await client(h.app, 'alice').get(url);
      assert.equal(res.statusCode, 200);
      const body = res.json();
      seen.push(...body.servers.map((s: { name: string }) => s.name));
      const next = body.servers_links?.find((l: { rel: string }) => l.rel === 'next');
      url = next ? new URL(next.href).pathname + new URL(next.href).search : undefined;
      pages += 1;
    }
    assert.deepEqual(seen, newestFirst());
    assert.equal(pages, 2);
  });

  it('pages with limit and marker', async () => {
    const first = await client(h.app, 'alice').get('/v2.1/servers/detail?limit=2');
    const body = first.json();
    assert.equal(body.servers.length, 2);
    const next = new URL(body.servers_links[0].href);
    assert.equal(next.pathname, '/v2.1/servers/detail');
    assert.equal(next.searchParams.get('limit'), '2');
    assert.equal(next.searchParams.get('marker'), body.servers[1].id);
    const second = await client(h.app, 'alice').get(`/v2.1/servers/detail?limit=2&marker=${body.servers[1].id}`);
    assert.deepEqual(names(second), newestFirst().slice(2, 4));
  });

  it('refuses an unknown marker and a limit that is no number', async () => {
    const marker = await client(h.app, 'alice').get('/v2.1/servers?marker=00000000-0000-4000-8000-000000000000');
    assert.equal(marker.statusCode, 400);
    assert.equal(fault(marker).message, 'marker [00000000-0000-4000-8000-000000000000] not found');
    const limit = await client(h.app, 'alice').get('/v2.1/servers?limit=ten');
    assert.equal(limit.statusCode, 400);
  });

  it('filters by name (a regular expression), status, flavor, image and reservation', async () => {
    const api = client(h.app, 'alice');
    assert.deepEqual(names(await api.get('/v2.1/servers?name=^db')), ['db-1', 'db-0']);
    assert.deepEqual(names(await api.get('/v2.1/servers?status=SHUTOFF')), ['db-1']);
    assert.deepEqual(
      names(await api.get('/v2.1/servers?status=shutoff&status=ACTIVE&limit=100')),
      newestFirst().slice(0, 5),
    );
    assert.deepEqual(names(await api.get('/v2.1/servers?flavor=2')), ['db-0']);
    assert.deepEqual(names(await api.get('/v2.1/servers?flavor=404')), []);
    assert.equal(names(await api.get(`/v2.1/servers?image=${h.cirros.id}&limit=100`)).length, 5);
    assert.equal(names(await api.get('/v2.1/servers?reservation_id=r-seeded00&limit=100')).length, 5);
  });

  it('answers an unknown status with [] before 2.38 and 400 from 2.38', async () => {
    assert.deepEqual(names(await client(h.app, 'alice').get('/v2.1/servers?status=SLEEPY')), []);
    const res = await client(h.app, 'alice', '2.38').get('/v2.1/servers?status=SLEEPY');
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Invalid status value');
  });

  it('includes deleted servers in changes-since, and refuses a malformed time', async () => {
    const since = await client(h.app, 'alice').get('/v2.1/servers/detail?changes-since=2000-01-01T00:00:00Z&limit=100');
    assert.equal(since.statusCode, 200);
    const deleted = since.json().servers.find((s: { id: string }) => s.id === gone.uuid);
    assert.equal(deleted.status, 'DELETED');
    const future = await client(h.app, 'alice').get('/v2.1/servers?changes-since=2999-01-01T00:00:00Z');
    assert.deepEqual(names(future), []);
    const bad = await client(h.app, 'alice').get('/v2.1/servers?changes-since=yesterday');
    assert.equal(bad.statusCode, 400);
  });

  it('lets only admins list every project, filter by host and see deleted servers', async () => {
    const member = await client(h.app, 'alice').get('/v2.1/servers?all_tenants=1');
    assert.equal(member.statusCode, 403);
    assert.equal(
      fault(member).message,
      "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.",
    );
    const memberDeleted = await client(h.app, 'alice').get('/v2.1/servers?status=DELETED');
    assert.equal(memberDeleted.statusCode, 403);
    // A member's host filter is dropped, as Nova drops filters members may not use.
    assert.equal(names(await client(h.app, 'alice').get('/v2.1/servers?host=host2&limit=100')).length, 5);

    const admin = client(h.app, 'admin');
    assert.deepEqual(names(await admin.get('/v2.1/servers')), [], 'admins too see their own project by default');
    const all = await admin.get('/v2.1/servers?all_tenants=True&limit=100');
    assert.equal(names(all).length, 5, 'capped by osapi_max_limit');
    assert.ok(all.json().servers_links);
    assert.deepEqual(names(await admin.get('/v2.1/servers?all_tenants=True&name=^bob')), ['bobs']);
    assert.deepEqual(names(await admin.get(`/v2.1/servers?all_tenants&project_id=${PROJECT_B}`)), ['bobs']);
    assert.deepEqual(names(await admin.get('/v2.1/servers?all_tenants=1&host=host2')), ['db-0']);
    assert.deepEqual(names(await admin.get('/v2.1/servers?all_tenants=1&deleted=true')), ['old']);
    assert.deepEqual(names(await admin.get('/v2.1/servers?all_tenants=1&status=DELETED')), ['old']);
    const badBool = await admin.get('/v2.1/servers?all_tenants=maybe');
    assert.equal(badBool.statusCode, 400);
  });

  it('shows details in /servers/detail, with status from the states', async () => {
    const res = await client(h.app, 'alice').get('/v2.1/servers/detail?name=db-1');
    const [server] = res.json().servers;
    assert.equal(server.id, stopped.uuid);
    assert.equal(server.status, 'SHUTOFF');
    assert.equal(server['OS-EXT-STS:vm_state'], 'stopped');
    assert.equal(server['OS-EXT-STS:power_state'], 4);
    assert.equal(server.tenant_id, stopped.project_id);
    assert.equal(server['OS-EXT-SRV-ATTR:host'], undefined, 'extended attributes are for admins');
    assert.equal(bobs.project_id, PROJECT_B);
  });
});

describe('GET /servers/detail with a long page', () => {
  let big: Harness;
  before(async () => {
    big = await startComputeApi({ DEFAULT: { osapi_max_limit: '1000' } });
    for (let i = 0; i < 130; i++) await seedServer(big, { project: PROJECT_B, user: 'bob', name: `many-${i}` });
  });
  after(async () => {
    await big.close();
  });

  it('streams the same JSON body, with the next link of a full page', async () => {
    const res = await client(big.app, 'bob').get('/v2.1/servers/detail?limit=120');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json();
    assert.equal(body.servers.length, 120);
    assert.equal(body.servers[0].name, 'many-129', 'newest first');
    assert.deepEqual(
      body.servers.map((s: { name: string }) => s.name),
      Array.from({ length: 120 }, (_, i) => `many-${129 - i}`),
      'the slices read one after the other keep the order of the page',
    );
    assert.equal(body.servers[0].status, 'ACTIVE');
    const next = new URL(body.servers_links[0].href);
    assert.equal(next.searchParams.get('marker'), body.servers[119].id);
    const rest = await client(big.app, 'bob').get(`/v2.1/servers?limit=120&marker=${body.servers[119].id}`);
    assert.deepEqual(
      rest.json().servers.map((s: { name: string }) => s.name),
      Array.from({ length: 10 }, (_, i) => `many-${9 - i}`),
    );
  });
});

describe('sort_key and sort_dir', () => {
  const allNames = () => alices.map((i) => i.display_name);

  it('sorts on the keys given, pages through the next links in that order, and repeats the first direction', async () => {
    const res = await client(h.app, 'alice').get('/v2.1/servers?sort_key=display_name&sort_dir=asc&limit=100');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(names(res), [...allNames()].sort().slice(0, 5));
    const seen: string[] = [];
    let url: string | undefined = '/v2.1/servers?sort_key=display_name&sort_dir=desc&limit=2';
    while (url) {
      const page = await client(h.app, 'alice').get(url);
      seen.push(...names(page));
      const next = page.json().servers_links?.find((l: { rel: string }) => l.rel === 'next');
      url = next ? new URL(next.href).pathname + new URL(next.href).search : undefined;
    }
    assert.deepEqual(seen, [...allNames()].sort().reverse());
    // Two keys, one direction: both descending.
    const two = await client(h.app, 'alice').get('/v2.1/servers?sort_key=vm_state&sort_key=display_name&sort_dir=desc');
    assert.deepEqual(names(two), ['db-1', 'web-3', 'web-2', 'web-1', 'web-0']);
  });

  it('refuses an unknown key, an unknown direction and more directions than keys, with 400', async () => {
    const alice = client(h.app, 'alice');
    const unknown = await alice.get('/v2.1/servers?sort_key=colour');
    assert.equal(unknown.statusCode, 400);
    assert.match(fault(unknown).message, /Invalid input for query parameters sort_key. Value: colour/);
    const badDir = await alice.get('/v2.1/servers?sort_key=display_name&sort_dir=up');
    assert.equal(badDir.statusCode, 400);
    assert.match(fault(badDir).message, /Unknown sort direction, must be 'desc' or 'asc'/);
    const extra = await alice.get('/v2.1/servers?sort_key=display_name&sort_dir=asc&sort_dir=desc');
    assert.equal(extra.statusCode, 400);
    assert.match(fault(extra).message, /Sort direction size exceeds sort key size/);
  });

  it("lets only admins sort by host, and drops Nova's ignored keys before 2.75 but refuses them after", async () => {
    const forbidden = await client(h.app, 'alice').get('/v2.1/servers?sort_key=host');
    assert.equal(forbidden.statusCode, 403);
    assert.match(fault(forbidden).message, /Only administrators can sort servers by host/);
    const admin = await client(h.app, 'admin').get('/v2.1/servers?all_tenants=1&sort_key=host&sort_dir=desc&limit=100');
    assert.equal(admin.statusCode, 200);
    assert.equal(names(admin)[0], 'db-0', 'the only server with a host sorts first descending (NULLs smallest)');
    const ignored = await client(h.app, 'alice').get('/v2.1/servers?sort_key=vcpus&sort_dir=asc&limit=100');
    assert.equal(ignored.statusCode, 200);
    assert.deepEqual(names(ignored), newestFirst().slice(0, 5), 'the ignored key and its direction are dropped');
    const refused = await client(h.app, 'alice', '2.75').get('/v2.1/servers?sort_key=vcpus');
    assert.equal(refused.statusCode, 400);
    const locked = await client(h.app, 'alice', '2.73').get('/v2.1/servers?sort_key=locked&sort_dir=asc');
    assert.equal(locked.statusCode, 200);
  });
});

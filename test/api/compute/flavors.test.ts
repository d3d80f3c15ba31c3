/** Flavors: views per microversion, listing, admin create/update/delete, extra specs and access. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFlavor } from '../../../src/objects/flavors.ts';
import { client, countRows, fault, PROJECT_A, PROJECT_B, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi({ DEFAULT: { osapi_max_limit: '3' } });
  await createFlavor(h.database.db, {
    flavorid: '2',
    name: 'm1.small',
    memory_mb: 2048,
    vcpus: 1,
    root_gb: 20,
    swap: 512,
  });
  await createFlavor(h.database.db, { flavorid: '3', name: 'm1.medium', memory_mb: 4096, vcpus: 2, root_gb: 40 });
  await createFlavor(h.database.db, {
    flavorid: 'secret',
    name: 'secret',
    memory_mb: 1024,
    vcpus: 1,
    root_gb: 5,
    is_public: false,
  });
  // Flavor access names projects that must exist in the identity tables.
  const at = new Date().toISOString();
  await h.database.db
    .insertInto('domains')
    .values({ id: 'default', name: 'Default', description: null, enabled: 1, created_at: at })
    .execute();
  for (const id of [PROJECT_A, PROJECT_B]) {
    await h.database.db
      .insertInto('projects')
      .values({ id, name: id, domain_id: 'default', description: null, enabled: 1, parent_id: null, created_at: at })
      .execute();
  }
});
after(async () => {
  await h.close();
});

const ids = (res: { json(): { flavors: { id: string }[] } }) => res.json().flavors.map((f) => f.id);

/** Every id of a listing, following its next links (pages are capped at 3 here). */
async function allIds(who: 'admin' | 'alice', url: string): Promise<string[]> {
  const seen: string[] = [];
  for (let next: string | undefined = url; next;) {
    const body = (await client(h.app, who).get(next)).json();
    seen.push(...body.flavors.map((f: { id: string }) => f.id));
    const link = body.flavors_links?.[0]?.href as string | undefined;
    next = link ? link.replace('http://localhost:80', '') : undefined;
  }
  return seen;
}

describe('reading flavors', () => {
  it('shows a flavor the 2.1 way, then with description, extra specs and numeric swap', async () => {
    const old = (await client(h.app, 'alice').get('/v2.1/flavors/1')).json().flavor;
    assert.deepEqual(old, {
      id: '1',
      name: 'm1.tiny',
      ram: 512,
      disk: 1,
      swap: '',
      'OS-FLV-EXT-DATA:ephemeral': 0,
      'OS-FLV-DISABLED:disabled': false,
      vcpus: 1,
      'os-flavor-access:is_public': true,
      rxtx_factor: 1,
      links: [
        { rel: 'self', href: 'http://localhost:80/v2.1/flavors/1' },
        { rel: 'bookmark', href: 'http://localhost:80/flavors/1' },
      ],
    });
    const newer = (await client(h.app, 'alice', '2.75').get('/v2.1/flavors/1')).json().flavor;
    assert.equal(newer.swap, 0);
    assert.equal(newer.description, null);
    assert.deepEqual(newer.extra_specs, {});
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors/2')).json().flavor.swap, 512);
  });

  it('lists public flavors to members, paged by osapi_max_limit, sortable and filterable', async () => {
    const page = await client(h.app, 'alice').get('/v2.1/flavors');
    assert.deepEqual(ids(page), ['1', '2', '3']);
    const next = new URL(page.json().flavors_links[0].href);
    assert.equal(next.searchParams.get('marker'), '3');
    assert.deepEqual(Object.keys(page.json().flavors[0]).sort(), ['id', 'links', 'name']);
    assert.deepEqual(ids(await client(h.app, 'alice').get('/v2.1/flavors/detail?minRam=2048')), ['2', '3']);
    assert.deepEqual(ids(await client(h.app, 'alice').get('/v2.1/flavors?minDisk=30')), ['3']);
    assert.deepEqual(ids(await client(h.app, 'alice').get('/v2.1/flavors?sort_key=memory_mb&sort_dir=desc')), [
      '3',
      '2',
      '1',
    ]);
    assert.deepEqual(ids(await client(h.app, 'alice').get('/v2.1/flavors?marker=1')), ['2', '3']);
    const badMin = await client(h.app, 'alice').get('/v2.1/flavors?minRam=lots');
    assert.equal(badMin.statusCode, 400);
    assert.equal(fault(badMin).message, 'Invalid minRam filter [lots]');
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors?sort_key=colour')).statusCode, 400);
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors?marker=nope')).statusCode, 400);
  });

  it('hides private flavors from members without access; admins choose with is_public', async () => {
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors/secret')).statusCode, 404);
    const admin = client(h.app, 'admin');
    assert.deepEqual(ids(await admin.get('/v2.1/flavors?is_public=false')), ['secret']);
    assert.deepEqual(await allIds('admin', '/v2.1/flavors?is_public=none'), ['1', '2', '3', 'secret']);
    assert.deepEqual(await allIds('admin', '/v2.1/flavors'), ['1', '2', '3'], 'by default admins see the public ones');
    const bad = await admin.get('/v2.1/flavors?is_public=perhaps');
    assert.equal(bad.statusCode, 400);
    assert.equal(fault(bad).message, 'Invalid is_public filter [perhaps]');
    const unknown = await client(h.app, 'alice').get('/v2.1/flavors/404');
    assert.equal(unknown.statusCode, 404);
    assert.equal(fault(unknown).message, 'Flavor 404 could not be found.');
  });
});

describe('managing flavors (admin)', () => {
  it('creates a flavor with Nova defaults and answers 200 with it', async () => {
    const res = await client(h.app, 'admin', '2.61').post('/v2.1/flavors', {
      flavor: {
        name: 'm1.large',
        ram: '8192',
        vcpus: 4,
        disk: 80,
        id: 4,
        'OS-FLV-EXT-DATA:ephemeral': 10,
        'os-flavor-access:is_public': 'true',
      },
    });
    assert.equal(res.statusCode, 200);
    const f = res.json().flavor;
    assert.equal(f.id, '4');
    assert.equal(f.ram, 8192);
    assert.equal(f['OS-FLV-EXT-DATA:ephemeral'], 10);
    assert.equal(f.rxtx_factor, 1);
    assert.deepEqual(f.extra_specs, {});
    const generated = (
      await client(h.app, 'admin').post('/v2.1/flavors', { flavor: { name: 'auto-id', ram: 64, vcpus: 1, disk: 0 } })
    ).json();
    assert.match(generated.flavor.id, /^[0-9a-f-]{36}$/);
  });

  it('refuses members, duplicates and bad values, creating nothing', async () => {
    const before = await countRows(h, 'flavors');
    const member = await client(h.app, 'alice').post('/v2.1/flavors', {
      flavor: { name: 'x', ram: 1, vcpus: 1, disk: 1 },
    });
    assert.equal(member.statusCode, 403);
    assert.equal(fault(member).message, "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.");
    const dupName = await client(h.app, 'admin').post('/v2.1/flavors', {
      flavor: { name: 'm1.tiny', ram: 1, vcpus: 1, disk: 1 },
    });
    assert.equal(dupName.statusCode, 409);
    assert.equal(fault(dupName).message, 'Flavor with name m1.tiny already exists.');
    const dupId = await client(h.app, 'admin').post('/v2.1/flavors', {
      flavor: { name: 'other', ram: 1, vcpus: 1, disk: 1, id: '1' },
    });
    assert.equal(dupId.statusCode, 409);
    assert.equal(fault(dupId).message, 'Flavor with ID 1 already exists.');
    for (const flavor of [
      { name: 'zero-ram', ram: 0, vcpus: 1, disk: 1 },
      { name: 'neg-disk', ram: 1, vcpus: 1, disk: -1 },
      { name: 'text', ram: 'lots', vcpus: 1, disk: 1 },
      { name: 'no-disk', ram: 1, vcpus: 1 },
      { name: 'extra', ram: 1, vcpus: 1, disk: 1, colour: 'red' },
      { name: 'described', ram: 1, vcpus: 1, disk: 1, description: 'before 2.55' },
      { name: 'x'.repeat(256), ram: 1, vcpus: 1, disk: 1 },
    ]) {
      const res = await client(h.app, 'admin').post('/v2.1/flavors', { flavor });
      assert.equal(res.statusCode, 400, flavor.name);
    }
    assert.equal(await countRows(h, 'flavors'), before);
  });

  it('updates the description from 2.55 and deletes with 202', async () => {
    await client(h.app, 'admin').post('/v2.1/flavors', {
      flavor: { name: 'doomed', ram: 64, vcpus: 1, disk: 1, id: 'doomed' },
    });
    const updated = await client(h.app, 'admin', '2.55').put('/v2.1/flavors/doomed', {
      flavor: { description: 'going away' },
    });
    assert.equal(updated.statusCode, 200);
    assert.equal(updated.json().flavor.description, 'going away');
    const memberDelete = await client(h.app, 'alice').delete('/v2.1/flavors/doomed');
    assert.equal(memberDelete.statusCode, 403);
    const deleted = await client(h.app, 'admin').delete('/v2.1/flavors/doomed');
    assert.equal(deleted.statusCode, 202);
    assert.equal((await client(h.app, 'admin').get('/v2.1/flavors/doomed')).statusCode, 404);
    assert.equal((await client(h.app, 'admin').delete('/v2.1/flavors/doomed')).statusCode, 404);
  });
});

describe('extra specs', () => {
  it('lets admins set, update and delete specs that everyone can read', async () => {
    const admin = client(h.app, 'admin');
    const set = await admin.post('/v2.1/flavors/2/os-extra_specs', {
      extra_specs: { 'hw:cpu_policy': 'shared', 'quota:vif': 5 },
    });
    assert.equal(set.statusCode, 200);
    assert.deepEqual(set.json(), { extra_specs: { 'hw:cpu_policy': 'shared', 'quota:vif': 5 } });
    assert.deepEqual((await client(h.app, 'alice').get('/v2.1/flavors/2/os-extra_specs')).json(), {
      extra_specs: { 'hw:cpu_policy': 'shared', 'quota:vif': '5' },
    });
    assert.deepEqual(
      (await admin.put('/v2.1/flavors/2/os-extra_specs/hw:cpu_policy', { 'hw:cpu_policy': 'dedicated' })).json(),
      {
        'hw:cpu_policy': 'dedicated',
      },
    );
    assert.deepEqual((await client(h.app, 'alice').get('/v2.1/flavors/2/os-extra_specs/hw:cpu_policy')).json(), {
      'hw:cpu_policy': 'dedicated',
    });
    const mismatch = await admin.put('/v2.1/flavors/2/os-extra_specs/a', { b: 'c' });
    assert.equal(mismatch.statusCode, 400);
    assert.equal(fault(mismatch).message, 'Request body and URI mismatch');
    assert.equal(
      (await client(h.app, 'alice').post('/v2.1/flavors/2/os-extra_specs', { extra_specs: { a: 'b' } })).statusCode,
      403,
    );
    const removed = await admin.delete('/v2.1/flavors/2/os-extra_specs/quota:vif');
    assert.equal(removed.statusCode, 200);
    const gone = await client(h.app, 'alice').get('/v2.1/flavors/2/os-extra_specs/quota:vif');
    assert.equal(gone.statusCode, 404);
    assert.equal(fault(gone).message, 'Flavor 2 has no extra specs with key quota:vif.');
    assert.deepEqual((await client(h.app, 'alice', '2.61').get('/v2.1/flavors/2')).json().flavor.extra_specs, {
      'hw:cpu_policy': 'dedicated',
    });
  });
});

describe('flavor QoS extra specs', () => {
  it('refuses a quota value that is not a non-negative integer with a 400, changing nothing', async () => {
    const admin = client(h.app, 'admin');
    const good = await admin.post('/v2.1/flavors/2/os-extra_specs', {
      extra_specs: { 'quota:disk_read_iops_sec': 200, 'quota:cpu_quota': '5000' },
    });
    assert.equal(good.statusCode, 200);
    for (const [key, value, why] of [
      ['quota:disk_total_bytes_sec', '1.5', "'1.5' is not an integer"],
      ['quota:cpu_shares', -5, '-5 is less than the minimum of 0'],
      ['quota:cpu_period', 'often', "'often' is not an integer"],
    ] as const) {
      const bad = await admin.post('/v2.1/flavors/2/os-extra_specs', {
        extra_specs: { 'quota:disk_read_iops_sec': 1, [key]: value },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(fault(bad).message, `Validation failed; extra spec '${key}': ${why}.`);
      const put = await admin.put(`/v2.1/flavors/2/os-extra_specs/${key}`, { [key]: value });
      assert.equal(put.statusCode, 400);
    }
    const specs = (await admin.get('/v2.1/flavors/2/os-extra_specs')).json().extra_specs;
    assert.equal(specs['quota:disk_read_iops_sec'], '200');
    assert.equal(specs['quota:cpu_quota'], '5000');
    assert.equal(specs['quota:cpu_shares'], undefined);
  });
});

describe('flavor access', () => {
  it('grants and revokes a project access to a private flavor', async () => {
    const admin = client(h.app, 'admin');
    const add = await admin.post('/v2.1/flavors/secret/action', { addTenantAccess: { tenant: PROJECT_A } });
    assert.equal(add.statusCode, 200);
    assert.deepEqual(add.json(), { flavor_access: [{ flavor_id: 'secret', tenant_id: PROJECT_A }] });
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors/secret')).statusCode, 200);
    assert.ok((await allIds('alice', '/v2.1/flavors')).includes('secret'));
    assert.equal((await client(h.app, 'bob').get('/v2.1/flavors/secret')).statusCode, 404);
    assert.deepEqual((await admin.get('/v2.1/flavors/secret/os-flavor-access')).json(), {
      flavor_access: [{ flavor_id: 'secret', tenant_id: PROJECT_A }],
    });

    const again = await admin.post('/v2.1/flavors/secret/action', { addTenantAccess: { tenant: PROJECT_A } });
    assert.equal(again.statusCode, 409);
    const publicOne = await admin.post('/v2.1/flavors/1/action', { addTenantAccess: { tenant: PROJECT_A } });
    assert.equal(publicOne.statusCode, 409);
    assert.equal(fault(publicOne).message, 'Can not add access to a public flavor.');
    const noProject = await admin.post('/v2.1/flavors/secret/action', { addTenantAccess: { tenant: 'nobody-here' } });
    assert.equal(noProject.statusCode, 400);
    assert.equal(fault(noProject).message, 'Project ID nobody-here is not a valid project.');
    const publicList = await admin.get('/v2.1/flavors/1/os-flavor-access');
    assert.equal(publicList.statusCode, 404);
    assert.equal(fault(publicList).message, 'Access list not available for public flavors.');
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors/secret/os-flavor-access')).statusCode, 403);
    const unknownAction = await admin.post('/v2.1/flavors/secret/action', { shareWith: { tenant: PROJECT_B } });
    assert.equal(unknownAction.statusCode, 400);

    const remove = await admin.post('/v2.1/flavors/secret/action', { removeTenantAccess: { tenant: PROJECT_A } });
    assert.deepEqual(remove.json(), { flavor_access: [] });
    assert.equal((await client(h.app, 'alice').get('/v2.1/flavors/secret')).statusCode, 404);
    const removeAgain = await admin.post('/v2.1/flavors/secret/action', { removeTenantAccess: { tenant: PROJECT_A } });
    assert.equal(removeAgain.statusCode, 404);
  });
});

describe('flavor extra specs checked from 2.86', () => {
  it("refuses Nova's invalid values and unknown names of known namespaces, changing nothing", async () => {
    const admin = client(h.app, 'admin', '2.86');
    const good = await admin.post('/v2.1/flavors/3/os-extra_specs', {
      extra_specs: {
        'hw:cpu_policy': 'dedicated',
        'hw:numa_nodes': '2',
        'hw:numa_cpus.0': '0-1,^1',
        'hw:mem_page_size': '2MiB',
        'hw_rng:allowed': 'True',
        'trait:CUSTOM_FAST': 'required',
        'my-own-key': 'anything',
        'acme:whatever': 'x',
      },
    });
    assert.equal(good.statusCode, 200, good.body);
    const before = (await admin.get('/v2.1/flavors/3/os-extra_specs')).json().extra_specs;
    const cases: [string, string, string][] = [
      ['hw:cpu_policy', 'sometimes', "Validation failed; 'sometimes' is not one of: dedicated, shared, mixed."],
      [
        'hw:cpu_policy',
        'mixed',
        "Validation failed; 'mixed' is not supported by Stratus for extra spec 'hw:cpu_policy'; use shared or dedicated.",
      ],
      ['hw:numa_nodes', '0', "Validation failed; '0' is less than the min value of '1'."],
      ['hw:numa_nodes', 'two', "Validation failed; 'two' is not a valid integer value."],
      ['hw:boot_menu', 'perhaps', "Validation failed; 'perhaps' is not a valid boolean-like value."],
      ['hw:redirected_usb_ports', '16', "Validation failed; '16' is greater than the max value of '15'."],
      [
        'hw:mem_page_size',
        'huge',
        "Validation failed; 'huge' is not of the format '(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'.",
      ],
      [
        'hw:cpu_polciy',
        'dedicated',
        "Validation failed; extra spec 'hw:cpu_polciy' does not appear to be a valid extra spec.",
      ],
      [
        'hw:constructor',
        'x',
        "Validation failed; extra spec 'hw:constructor' does not appear to be a valid extra spec.",
      ],
    ];
    for (const [key, value, message] of cases) {
      const post = await admin.post('/v2.1/flavors/3/os-extra_specs', { extra_specs: { [key]: value } });
      assert.equal(post.statusCode, 400, `${key}=${value}`);
      assert.equal(fault(post).message, message);
      const put = await admin.put(`/v2.1/flavors/3/os-extra_specs/${key}`, { [key]: value });
      assert.equal(put.statusCode, 400, `${key}=${value}`);
    }
    assert.deepEqual((await admin.get('/v2.1/flavors/3/os-extra_specs')).json().extra_specs, before);
  });

  it('takes any value before 2.86, as Nova does', async () => {
    const admin = client(h.app, 'admin', '2.85');
    const res = await admin.post('/v2.1/flavors/3/os-extra_specs', { extra_specs: { 'hw:cpu_polciy': 'x' } });
    assert.equal(res.statusCode, 200);
    await admin.delete('/v2.1/flavors/3/os-extra_specs/hw:cpu_polciy');
  });
});

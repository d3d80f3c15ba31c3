/**
 * The proxy APIs Nova deprecated at 2.36 (images, networks, security groups, floating IPs, volumes,
 * snapshots; image metadata until 2.38) and the APIs it removed (410 Gone).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GONE_ROUTES } from '../../../src/api/compute/legacy/gone.ts';
import { PROJECT_A, PROJECT_B, client, fault, startComputeApi, type Harness } from './helpers.ts';
import { formatVersion, MAX_VERSION } from '../../../src/api/compute/microversion.ts';
import { ensureDefaultSecurityGroup } from '../../../src/network/default-security-group.ts';
import { createTestNetwork } from '../../helpers/networks.ts';

/** The newest microversion Stratus serves. */
const LATEST = formatVersion(MAX_VERSION);

let h: Harness;
let mine: string;
let snapshot: string;
let others: string;

before(async () => {
  h = await startComputeApi();
  mine = h.images.add({ name: 'mine', owner: PROJECT_A, properties: { os_distro: 'cirros' }, size: 1024 }).id;
  snapshot = h.images.add({
    name: 'snap',
    owner: PROJECT_A,
    status: 'queued',
    properties: { instance_uuid: randomUUID(), image_type: 'snapshot', auto_disk_config: 'true' },
  }).id;
  others = h.images.add({ name: 'private', owner: PROJECT_B }).id;
});
after(async () => {
  await h.close();
});

describe('images proxy', () => {
  it('lists the images the caller sees, newest first, with links and filters', async () => {
    const alice = client(h.app, 'alice');
    const res = await alice.get('/v2.1/images');
    assert.equal(res.statusCode, 200);
    const ids = res.json().images.map((i: { id: string }) => i.id);
    assert.deepEqual(ids, [snapshot, mine, h.cirros.id]);
    const [first] = res.json().images;
    assert.deepEqual(
      first.links.map((l: { rel: string }) => l.rel),
      ['self', 'bookmark', 'alternate'],
    );
    assert.match(first.links[2].href, new RegExp(`/images/${snapshot}$`));
    const detail = await alice.get('/v2.1/images/detail?type=snapshot');
    assert.equal(detail.statusCode, 200);
    const [snap] = detail.json().images;
    assert.equal(detail.json().images.length, 1);
    assert.equal(snap.status, 'SAVING');
    assert.equal(snap.progress, 25);
    assert.equal(snap['OS-DCF:diskConfig'], 'AUTO');
    assert.equal(snap.server.id, snap.metadata.instance_uuid);
    const paged = await alice.get('/v2.1/images?limit=1');
    assert.equal(paged.json().images.length, 1);
    assert.equal(new URL(paged.json().images_links[0].href).searchParams.get('marker'), snapshot);
    assert.equal((await alice.get('/v2.1/images?limit=x')).statusCode, 400);
    assert.equal((await client(h.app, 'alice', '2.36').get('/v2.1/images')).statusCode, 404);
  });

  it("shows and deletes an image as the image service allows, 404 for what the caller can't see", async () => {
    const alice = client(h.app, 'alice');
    const shown = await alice.get(`/v2.1/images/${mine}`);
    assert.equal(shown.statusCode, 200);
    const image = shown.json().image;
    assert.equal(image.status, 'ACTIVE');
    assert.equal(image.progress, 100);
    assert.equal(image['OS-EXT-IMG-SIZE:size'], 1024);
    assert.deepEqual(image.metadata, { os_distro: 'cirros' });
    const hidden = await alice.get(`/v2.1/images/${others}`);
    assert.equal(hidden.statusCode, 404);
    assert.equal(fault(hidden).message, 'Image not found.');
    const public_ = await alice.delete(`/v2.1/images/${h.cirros.id}`);
    assert.equal(public_.statusCode, 403);
    assert.equal(fault(public_).message, 'You are not allowed to delete the image.');
    const throwaway = h.images.add({ name: 'tmp', owner: PROJECT_A }).id;
    assert.equal((await alice.delete(`/v2.1/images/${throwaway}`)).statusCode, 204);
    assert.equal((await alice.get(`/v2.1/images/${throwaway}`)).statusCode, 404);
    assert.equal((await alice.delete(`/v2.1/images/${throwaway}`)).statusCode, 404);
  });

  it('reads and rewrites image metadata until 2.38', async () => {
    const alice = client(h.app, 'alice', '2.38');
    const base = `/v2.1/images/${mine}/metadata`;
    const listed = await alice.get(base);
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(listed.json(), { metadata: { os_distro: 'cirros' } });
    const merged = await alice.post(base, { metadata: { hw_disk_bus: 'virtio' } });
    assert.equal(merged.statusCode, 200);
    assert.deepEqual(merged.json().metadata, { os_distro: 'cirros', hw_disk_bus: 'virtio' });
    const item = await alice.put(`${base}/os_distro`, { meta: { os_distro: 'ubuntu' } });
    assert.equal(item.statusCode, 200);
    const one = await alice.get(`${base}/os_distro`);
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), { meta: { os_distro: 'ubuntu' } });
    assert.equal((await alice.delete(`${base}/hw_disk_bus`)).statusCode, 204);
    const replaced = await alice.put(base, { metadata: { a: '1' } });
    assert.equal(replaced.statusCode, 200);
    assert.deepEqual((await alice.get(base)).json(), { metadata: { a: '1' } });
    const mismatch = await alice.put(`${base}/a`, { meta: { b: '2' } });
    assert.equal(mismatch.statusCode, 400);
    assert.equal(fault(mismatch).message, 'Request body and URI mismatch');
    assert.equal((await alice.get(`${base}/nope`)).statusCode, 404);
    assert.equal(fault(await alice.delete(`${base}/nope`)).message, 'Invalid metadata key');
    assert.equal((await alice.post(base, { metadata: 'x' })).statusCode, 400);
    const tooMany = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v']));
    const quota = await alice.put(base, { metadata: tooMany });
    assert.equal(quota.statusCode, 403);
    assert.equal(fault(quota).message, 'Image metadata limit exceeded');
    const notOwner = await alice.post(`/v2.1/images/${h.cirros.id}/metadata`, { metadata: { a: '1' } });
    assert.equal(notOwner.statusCode, 403);
    assert.equal((await client(h.app, 'alice', '2.39').get(base)).statusCode, 404);
  });
});

describe('network and volume proxies', () => {
  it('list nothing and find nothing until 2.35, 404 from 2.36', async () => {
    const alice = client(h.app, 'alice', '2.35');
    const lists: [string, string][] = [
      ['/os-networks', 'networks'],
      ['/os-tenant-networks', 'networks'],
      ['/os-security-groups', 'security_groups'],
      ['/os-floating-ips', 'floating_ips'],
      ['/os-floating-ip-pools', 'floating_ip_pools'],
      ['/os-volumes', 'volumes'],
      ['/os-volumes/detail', 'volumes'],
      ['/os-snapshots', 'snapshots'],
      ['/os-snapshots/detail', 'snapshots'],
    ];
    for (const [path, key] of lists) {
      const res = await alice.get(`/v2.1${path}`);
      assert.equal(res.statusCode, 200, path);
      assert.deepEqual(res.json(), { [key]: [] });
      assert.equal((await client(h.app, 'alice', '2.36').get(`/v2.1${path}`)).statusCode, 404, path);
    }
    const missing: [string, string][] = [
      ['/os-networks/n1', 'Network not found'],
      ['/os-tenant-networks/n1', 'Network not found'],
      ['/os-security-groups/7', 'Security group 7 not found.'],
      ['/os-floating-ips/7', 'Floating IP not found for ID 7'],
      ['/os-volumes/v1', 'Volume v1 could not be found.'],
      ['/os-snapshots/s1', 'Snapshot s1 could not be found.'],
    ];
    for (const [path, message] of missing) {
      const res = await alice.get(`/v2.1${path}`);
      assert.equal(res.statusCode, 404, path);
      assert.equal(fault(res).message, message);
    }
    const create = await alice.post('/v2.1/os-volumes', { volume: { size: 1 } });
    assert.equal(create.statusCode, 404);
    assert.match(fault(create).message, /no volume service/);
    assert.equal((await alice.post('/v2.1/os-security-group-rules', {})).statusCode, 404);
  });
});

describe('network proxies over the network service', () => {
  it("show the networks, pools and groups a project sees, in Nova's shapes", async () => {
    const own = await createTestNetwork(h.database.db, { projectId: PROJECT_A, name: 'alpha', prefix: '10.90.0' });
    const ext = await createTestNetwork(h.database.db, {
      projectId: PROJECT_B,
      name: 'public',
      prefix: '203.0.113',
      external: true,
    });
    await createTestNetwork(h.database.db, { projectId: PROJECT_B, name: 'bravo', prefix: '10.91.0' });
    const alice = client(h.app, 'alice', '2.35');
    try {
      const networks = (await alice.get('/v2.1/os-networks')).json().networks as Record<string, unknown>[];
      assert.deepEqual(
        networks.map((n) => [n['id'], n['label'], n['cidr']]),
        [
          [own.id, 'alpha', null],
          [ext.id, 'public', null],
        ],
      );
      assert.equal('project_id' in networks[0]!, false, 'the admin-only keys only for admins');
      const shown = await alice.get(`/v2.1/os-tenant-networks/${own.id}`);
      assert.deepEqual(shown.json(), { network: { id: own.id, cidr: 'None', label: 'alpha' } });
      const pools = await alice.get('/v2.1/os-floating-ip-pools');
      assert.deepEqual(pools.json(), { floating_ip_pools: [{ name: 'public' }] });
      const adminView = await client(h.app, 'admin', '2.35').get(`/v2.1/os-networks/${own.id}`);
      assert.equal(adminView.json().network.project_id, null);
      const groupId = await ensureDefaultSecurityGroup(h.database.db, PROJECT_A);
      const groups = await alice.get('/v2.1/os-security-groups');
      assert.deepEqual(
        groups.json().security_groups.map((g: { id: string; name: string }) => [g.id, g.name]),
        [[groupId, 'default']],
      );
      const group = await alice.get(`/v2.1/os-security-groups/${groupId}`);
      assert.equal(group.json().security_group.tenant_id, PROJECT_A);
      assert.equal((await client(h.app, 'bob', '2.35').get(`/v2.1/os-security-groups/${groupId}`)).statusCode, 404);
    } finally {
      await h.database.db.deleteFrom('subnet_allocation_pools').execute();
      await h.database.db.deleteFrom('subnets').execute();
      await h.database.db.deleteFrom('networks').execute();
      await h.database.db.deleteFrom('security_group_rules').execute();
      await h.database.db.deleteFrom('default_security_groups').execute();
      await h.database.db.deleteFrom('security_groups').execute();
    }
  });
});

describe('removed APIs', () => {
  it('answer 410 Gone to every method at every version', async () => {
    for (const [path, methods] of GONE_ROUTES) {
      const url = `/v2.1${path.replace(/:[a-z_]+/g, 'x')}`;
      for (const method of methods) {
        const res = await h.app.inject({
          method,
          url,
          headers: { 'x-auth-token': 'alice-token', 'openstack-api-version': `compute ${LATEST}` },
        });
        assert.equal(res.statusCode, 410, `${method} ${url}`);
        assert.deepEqual(res.json(), {
          computeFault: {
            code: 410,
            message: 'This resource is no longer available.  No forwarding address is given.',
          },
        });
      }
    }
    assert.equal((await client(h.app, 'nobody').get('/v2.1/os-fping')).statusCode, 401);
  });
});

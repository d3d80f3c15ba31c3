/** GET/PUT /servers/{id} per microversion and caller, and the metadata routes. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { recordFault } from '../../../src/objects/instance-faults.ts';
import { saveRequestSpec } from '../../../src/objects/request-specs.ts';
import type { Instance } from '../../../src/objects/instances.ts';
import {
  addComputeHost,
  client,
  fault,
  PROJECT_A,
  seedServer,
  startComputeApi,
  stopHeartbeat,
  type Harness,
} from './helpers.ts';
import { testSpec } from '../../helpers/request-spec.ts';

let h: Harness;
let web: Instance;
let broken: Instance;
let building: Instance;

before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
  web = await seedServer(h, { name: 'web' });
  broken = await seedServer(h, { name: 'broken', host: null, state: { vm_state: 'error' } });
  await recordFault(h.database.db, broken.uuid, {
    code: 500,
    message: 'No valid host was found.',
    details: 'Traceback: ...',
  });
  building = await seedServer(h, { name: 'building', host: null });
  await saveRequestSpec(
    h.database.db,
    web.uuid,
    testSpec(
      { flavorid: '1', name: 'm1.tiny' },
      {
        project_id: PROJECT_A,
        user_id: 'alice',
        image: { id: h.cirros.id, properties: {} },
        availability_zone: 'nova',
      },
    ),
  );
});
after(async () => {
  await h.close();
});

describe('GET /servers/{id}', () => {
  it('shows the 2.1 view: flavor and image as links, no later fields', async () => {
    const res = await client(h.app, 'alice').get(`/v2.1/servers/${web.uuid}`);
    assert.equal(res.statusCode, 200);
    const s = res.json().server;
    assert.equal(s.id, web.uuid);
    assert.equal(s.name, 'web');
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s.progress, 0);
    assert.deepEqual(s.flavor, { id: '1', links: [{ rel: 'bookmark', href: 'http://localhost:80/flavors/1' }] });
    assert.deepEqual(s.image, {
      id: h.cirros.id,
      links: [{ rel: 'bookmark', href: `http://localhost:80/images/${h.cirros.id}` }],
    });
    assert.equal(s.hostId, createHash('sha224').update(`${PROJECT_A}host1`).digest('hex'));
    assert.deepEqual(s.addresses, {});
    assert.equal(s['OS-EXT-AZ:availability_zone'], 'nova');
    assert.equal(s['OS-EXT-STS:vm_state'], 'active');
    assert.equal(s['OS-EXT-STS:task_state'], null);
    assert.match(s.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(s['OS-SRV-USG:launched_at'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    assert.deepEqual(s['os-extended-volumes:volumes_attached'], []);
    for (const later of [
      'locked',
      'description',
      'tags',
      'host_status',
      'pinned_availability_zone',
      'OS-EXT-SRV-ATTR:host',
    ]) {
      assert.equal(later in s, false, later);
    }
  });

  it('adds the fields of later microversions', async () => {
    const s = (await client(h.app, 'alice', '2.96').get(`/v2.1/servers/${web.uuid}`)).json().server;
    assert.equal(s.locked, false);
    assert.equal(s.description, null);
    assert.deepEqual(s.tags, []);
    assert.equal(s.trusted_image_certificates, null);
    assert.equal(s.locked_reason, null);
    assert.equal(s['OS-EXT-SRV-ATTR:hostname'], 'web', '2.90 shows the hostname to everyone');
    assert.equal(s.pinned_availability_zone, 'nova');
    assert.deepEqual(s.flavor, {
      vcpus: 1,
      ram: 512,
      disk: 1,
      ephemeral: 0,
      swap: 0,
      original_name: 'm1.tiny',
      extra_specs: {},
    });
    assert.equal('host_status' in s, false, 'host_status is for admins');
  });

  it('shows admins the extended attributes and the host status', async () => {
    const s = (await client(h.app, 'admin', '2.16').get(`/v2.1/servers/${web.uuid}`)).json().server;
    assert.equal(s['OS-EXT-SRV-ATTR:host'], 'host1');
    assert.equal(s['OS-EXT-SRV-ATTR:hypervisor_hostname'], 'host1-node');
    assert.equal(s['OS-EXT-SRV-ATTR:instance_name'], `instance-${web.id.toString(16).padStart(8, '0')}`);
    assert.equal(s['OS-EXT-SRV-ATTR:reservation_id'], 'r-seeded00');
    assert.equal(s.host_status, 'UP');
    await stopHeartbeat(h, 'host1');
    const down = (await client(h.app, 'admin', '2.16').get(`/v2.1/servers/${web.uuid}`)).json().server;
    assert.equal(down.host_status, 'UNKNOWN');
    await h.database.db
      .updateTable('services')
      .set({ last_seen_up: new Date().toISOString() })
      .where('host', '=', 'host1')
      .execute();
  });

  it('shows the fault of a server in ERROR, with the trace only to admins', async () => {
    const member = (await client(h.app, 'alice').get(`/v2.1/servers/${broken.uuid}`)).json().server;
    assert.equal(member.status, 'ERROR');
    assert.equal(member.fault.code, 500);
    assert.equal(member.fault.message, 'No valid host was found.');
    assert.equal('details' in member.fault, false);
    assert.equal(member.hostId, '');
    assert.equal(member['OS-EXT-AZ:availability_zone'], '');
    const admin = (await client(h.app, 'admin').get(`/v2.1/servers/${broken.uuid}`)).json().server;
    assert.equal(admin.fault.details, 'Traceback: ...');
  });

  it('shows a server that is being built as BUILD', async () => {
    const s = (await client(h.app, 'alice').get(`/v2.1/servers/${building.uuid}`)).json().server;
    assert.equal(s.status, 'BUILD');
    assert.equal(s['OS-EXT-STS:task_state'], 'scheduling');
  });

  for (const [what, who, id] of [
    ["another project's server", 'bob', () => web.uuid],
    ['an unknown server', 'alice', () => '00000000-0000-4000-8000-000000000000'],
    ['an id that is no UUID', 'alice', () => 'web'],
  ] as const) {
    it(`answers 404 for ${what}`, async () => {
      const res = await client(h.app, who, '2.1').get(`/v2.1/servers/${id()}`);
      assert.equal(res.statusCode, 404);
      assert.equal(fault(res).name, 'itemNotFound');
      assert.equal(fault(res).message, `Instance ${id()} could not be found.`);
    });
  }

  it('serves the project-id form of the URL', async () => {
    const res = await client(h.app, 'alice').get(`/v2.1/${PROJECT_A}/servers/${web.uuid}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().server.links[0].href, `http://localhost:80/v2.1/${PROJECT_A}/servers/${web.uuid}`);
  });
});

describe('PUT /servers/{id}', () => {
  it('renames and describes a server; the response has the show fields from 2.75', async () => {
    const res = await client(h.app, 'alice', '2.19').put(`/v2.1/servers/${web.uuid}`, {
      server: { name: 'www', description: 'front' },
    });
    assert.equal(res.statusCode, 200);
    const s = res.json().server;
    assert.equal(s.name, 'www');
    assert.equal(s.description, 'front');
    assert.equal('OS-EXT-STS:vm_state' in s, false, 'before 2.75 the update view is the short one');
    const full = (
      await client(h.app, 'alice', '2.75').put(`/v2.1/servers/${web.uuid}`, { server: { accessIPv4: '192.0.2.7' } })
    ).json().server;
    assert.equal(full.accessIPv4, '192.0.2.7');
    assert.equal(full['OS-EXT-STS:vm_state'], 'active');
  });

  it('refuses a description before 2.19, bad names and other projects', async () => {
    const early = await client(h.app, 'alice').put(`/v2.1/servers/${web.uuid}`, { server: { description: 'x' } });
    assert.equal(early.statusCode, 400);
    const long = await client(h.app, 'alice').put(`/v2.1/servers/${web.uuid}`, { server: { name: 'n'.repeat(256) } });
    assert.equal(long.statusCode, 400);
    const theirs = await client(h.app, 'bob').put(`/v2.1/servers/${web.uuid}`, { server: { name: 'mine' } });
    assert.equal(theirs.statusCode, 404);
    const s = (await client(h.app, 'alice').get(`/v2.1/servers/${web.uuid}`)).json().server;
    assert.equal(s.name, 'www');
  });
});

describe('server metadata', () => {
  it('sets, merges, replaces, shows and deletes items', async () => {
    const api = client(h.app, 'alice');
    const base = `/v2.1/servers/${web.uuid}/metadata`;
    assert.deepEqual((await api.put(base, { metadata: { a: '1', b: '2' } })).json(), { metadata: { a: '1', b: '2' } });
    assert.deepEqual((await api.post(base, { metadata: { b: '3', c: '4' } })).json(), {
      metadata: { a: '1', b: '3', c: '4' },
    });
    assert.deepEqual((await api.get(`${base}/b`)).json(), { meta: { b: '3' } });
    assert.deepEqual((await api.put(`${base}/d`, { meta: { d: '5' } })).json(), { meta: { d: '5' } });
    const mismatch = await api.put(`${base}/d`, { meta: { e: '5' } });
    assert.equal(mismatch.statusCode, 400);
    assert.equal(fault(mismatch).message, 'Request body and URI mismatch');
    assert.equal((await api.delete(`${base}/a`)).statusCode, 204);
    const missing = await api.get(`${base}/a`);
    assert.equal(missing.statusCode, 404);
    assert.equal(fault(missing).message, 'Metadata item was not found');
    assert.deepEqual((await api.get(base)).json(), { metadata: { b: '3', c: '4', d: '5' } });
    assert.deepEqual((await api.get(`/v2.1/servers/${web.uuid}`)).json().server.metadata, { b: '3', c: '4', d: '5' });
  });

  it('refuses writes while the server is building, and bad keys', async () => {
    const res = await client(h.app, 'alice').post(`/v2.1/servers/${building.uuid}/metadata`, { metadata: { a: '1' } });
    assert.equal(res.statusCode, 409);
    assert.equal(
      fault(res).message,
      `Cannot 'update metadata' instance ${building.uuid} while it is in vm_state building`,
    );
    const badKey = await client(h.app, 'alice').post(`/v2.1/servers/${web.uuid}/metadata`, {
      metadata: { 'a/b': '1' },
    });
    assert.equal(badKey.statusCode, 400);
  });
});

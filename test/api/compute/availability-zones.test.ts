/**
 * os-availability-zone: zones come from the compute hosts (aggregate zones, else the default zone),
 * 'internal' holds the other services and only admins see it, with each zone's hosts and services.
 * The zones a server may be created in are the same ones; os-services shows each host's zone too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerService } from '../../../src/objects/services.ts';
import { addComputeHost, client, countRows, fault, startComputeApi, stopHeartbeat, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
  for (const host of ['c1', 'c2', 'c3']) await addComputeHost(h, host);
  await registerService(h.database.db, 'controller', 'stratus-conductor', 'conductor');
  await registerService(h.database.db, 'controller', 'stratus-scheduler', 'scheduler');
  await registerService(h.database.db, 'controller', 'stratus-api', 'api');
  await stopHeartbeat(h, 'c2');
  const admin = client(h.app, 'admin');
  const az1 = (await admin.post('/v2.1/os-aggregates', { aggregate: { name: 'a1', availability_zone: 'az1' } })).json()
    .aggregate.id;
  const az2 = (await admin.post('/v2.1/os-aggregates', { aggregate: { name: 'a2', availability_zone: 'az2' } })).json()
    .aggregate.id;
  await admin.post('/v2.1/os-aggregates', { aggregate: { name: 'empty', availability_zone: 'az-empty' } });
  await admin.post(`/v2.1/os-aggregates/${az1}/action`, { add_host: { host: 'c1' } });
  await admin.post(`/v2.1/os-aggregates/${az1}/action`, { add_host: { host: 'c2' } });
  await admin.post(`/v2.1/os-aggregates/${az2}/action`, { add_host: { host: 'c3' } });
  // az2's only host is disabled: the zone is listed, as not available.
  await h.database.db.updateTable('services').set({ disabled: 1 }).where('host', '=', 'c3').execute();
});
after(async () => {
  await h.close();
});

describe('os-availability-zone', () => {
  it('lists the zones of the compute hosts to everyone, without hosts or the internal zone', async () => {
    const res = await client(h.app, 'alice').get('/v2.1/os-availability-zone');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      availabilityZoneInfo: [
        { zoneName: 'az1', zoneState: { available: true }, hosts: null },
        { zoneName: 'az2', zoneState: { available: false }, hosts: null },
      ],
    });
  });

  it('shows admins every zone with its hosts and their services', async () => {
    const res = await client(h.app, 'admin').get('/v2.1/os-availability-zone/detail');
    assert.equal(res.statusCode, 200);
    const zones = res.json().availabilityZoneInfo as {
      zoneName: string;
      zoneState: { available: boolean };
      hosts: Record<string, Record<string, { available: boolean; active: boolean; updated_at: string }>> | null;
    }[];
    assert.deepEqual(
      zones.map((z) => [z.zoneName, z.zoneState.available]),
      [
        ['az1', true],
        ['internal', true],
        ['az2', false],
      ],
    );
    const [az1, internal, az2] = zones;
    assert.deepEqual(Object.keys(az1!.hosts!).sort(), ['c1', 'c2']);
    assert.equal(az1!.hosts!['c1']!['stratus-compute']!.available, true);
    assert.equal(az1!.hosts!['c2']!['stratus-compute']!.available, false, 'c2 stopped reporting');
    assert.equal(az1!.hosts!['c1']!['stratus-compute']!.active, true);
    assert.match(az1!.hosts!['c1']!['stratus-compute']!.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    assert.deepEqual(Object.keys(internal!.hosts!['controller']!).sort(), ['stratus-conductor', 'stratus-scheduler']);
    assert.equal(az2!.hosts, null);
  });

  it('refuses the detail to members', async () => {
    const res = await client(h.app, 'bob').get('/v2.1/os-availability-zone/detail');
    assert.equal(res.statusCode, 403);
    assert.equal(
      fault(res).message,
      "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.",
    );
  });

  it('lists the default zone while a compute host is outside every zone', async () => {
    await addComputeHost(h, 'c4');
    const zones = (await client(h.app, 'alice').get('/v2.1/os-availability-zone')).json().availabilityZoneInfo;
    assert.deepEqual(
      zones.map((z: { zoneName: string }) => z.zoneName),
      ['az1', 'nova', 'az2'],
    );
    const services = (await client(h.app, 'admin').get('/v2.1/os-services')).json().services as {
      host: string;
      zone: string;
    }[];
    assert.deepEqual(
      services.map((s) => `${s.host}:${s.zone}`),
      ['c1:az1', 'c2:az1', 'c3:az2', 'controller:internal', 'controller:internal', 'c4:nova'],
    );
  });

  it('accepts a server in an available zone only', async () => {
    const create = (zone: string) =>
      client(h.app, 'alice').post('/v2.1/servers', {
        server: { name: 'z', flavorRef: h.tiny.flavorid, imageRef: h.cirros.id, availability_zone: zone },
      });
    assert.equal((await create('az1')).statusCode, 202);
    assert.equal((await create('nova')).statusCode, 202);
    const before = await countRows(h, 'instances');
    for (const zone of ['az2', 'az-empty', 'internal', 'mars']) {
      const res = await create(zone);
      assert.equal(res.statusCode, 400, zone);
      assert.equal(fault(res).message, 'The requested availability zone is not available');
    }
    assert.equal(await countRows(h, 'instances'), before);
  });
});

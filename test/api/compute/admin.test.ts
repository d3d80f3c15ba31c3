/** os-services and os-hypervisors: admin only, ids per microversion, usage from placement allocations. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerService } from '../../../src/objects/services.ts';
import { claimResources } from '../../../src/placement/claims.ts';
import { addComputeHost, client, fault, seedServer, startComputeApi, stopHeartbeat, type Harness } from './helpers.ts';

let h: Harness;
let host1: Awaited<ReturnType<typeof addComputeHost>>;
let host2: Awaited<ReturnType<typeof addComputeHost>>;

before(async () => {
  h = await startComputeApi();
  host1 = await addComputeHost(h, 'host1', { vcpus: 8, memoryMb: 16384, diskGb: 200 });
  host2 = await addComputeHost(h, 'host2', { vcpus: 4, memoryMb: 8192, diskGb: 100 });
  await registerService(h.database.db, 'controller', 'stratus-conductor', 'conductor');
  await registerService(h.database.db, 'controller', 'stratus-api', 'api');
  await stopHeartbeat(h, 'host2');
  // Two servers' worth of claims on host1: 3 vCPUs, 3 GB, 30 GB in all.
  const a = await seedServer(h, { host: 'host1', name: 'a' });
  const b = await seedServer(h, { host: 'host1', name: 'b', state: { task_state: 'rebooting' } });
  await claimResources(h.database.db, a.uuid, host1.node.uuid, { VCPU: 1, MEMORY_MB: 1024, DISK_GB: 10 }, 'hdd');
  await claimResources(h.database.db, b.uuid, host1.node.uuid, { VCPU: 2, MEMORY_MB: 2048, DISK_GB: 20 }, 'hdd');
});
after(async () => {
  await h.close();
});

describe('os-services', () => {
  it('lists services with zone, status and heartbeat state, leaving out the API', async () => {
    const res = await client(h.app, 'admin').get('/v2.1/os-services');
    assert.equal(res.statusCode, 200);
    const services = res.json().services;
    assert.deepEqual(
      services.map((s: { binary: string; host: string }) => `${s.binary}@${s.host}`),
      ['stratus-compute@host1', 'stratus-compute@host2', 'stratus-conductor@controller'],
    );
    const [one, two, conductor] = services;
    assert.equal(one.id, host1.service.id);
    assert.equal(one.zone, 'nova');
    assert.equal(one.status, 'enabled');
    assert.equal(one.state, 'up');
    assert.equal(two.state, 'down');
    assert.equal(conductor.zone, 'internal');
    assert.equal('forced_down' in one, false);
    assert.match(one.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const filtered = await client(h.app, 'admin', '2.53').get('/v2.1/os-services?binary=stratus-compute&host=host2');
    assert.deepEqual(
      filtered.json().services.map((s: { id: string }) => s.id),
      [host2.service.uuid],
    );
    assert.equal(filtered.json().services[0].forced_down, false);
  });

  it('is refused to members', async () => {
    const res = await client(h.app, 'alice').get('/v2.1/os-services');
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, "Policy doesn't allow os_compute_api:os-services:list to be performed.");
  });

  it('disables and enables a compute service by host and binary before 2.53', async () => {
    const api = client(h.app, 'admin', '2.11');
    const disabled = await api.put('/v2.1/os-services/disable-log-reason', {
      host: 'host2',
      binary: 'stratus-compute',
      disabled_reason: 'maintenance',
    });
    assert.equal(disabled.statusCode, 200);
    assert.deepEqual(disabled.json(), {
      service: { host: 'host2', binary: 'stratus-compute', status: 'disabled', disabled_reason: 'maintenance' },
    });
    const listed = (await api.get('/v2.1/os-services?host=host2')).json().services[0];
    assert.equal(listed.status, 'disabled');
    assert.equal(listed.disabled_reason, 'maintenance');
    assert.deepEqual((await api.put('/v2.1/os-services/enable', { host: 'host2', binary: 'stratus-compute' })).json(), {
      service: { host: 'host2', binary: 'stratus-compute', status: 'enabled' },
    });
    const forced = await api.put('/v2.1/os-services/force-down', {
      host: 'host1',
      binary: 'stratus-compute',
      forced_down: true,
    });
    assert.deepEqual(forced.json(), { service: { host: 'host1', binary: 'stratus-compute', forced_down: true } });
    assert.equal((await api.get('/v2.1/os-services?host=host1')).json().services[0].state, 'down');
    await api.put('/v2.1/os-services/force-down', { host: 'host1', binary: 'stratus-compute', forced_down: false });

    const unknownHost = await api.put('/v2.1/os-services/enable', { host: 'nohost', binary: 'stratus-compute' });
    assert.equal(unknownHost.statusCode, 404);
    assert.equal(fault(unknownHost).message, 'Could not find binary stratus-compute on host nohost.');
    const conductor = await api.put('/v2.1/os-services/disable', { host: 'controller', binary: 'stratus-conductor' });
    assert.equal(conductor.statusCode, 400);
    const unknownAction = await api.put('/v2.1/os-services/pause', { host: 'host1', binary: 'stratus-compute' });
    assert.equal(unknownAction.statusCode, 404);
    const noReason = await api.put('/v2.1/os-services/disable-log-reason', {
      host: 'host1',
      binary: 'stratus-compute',
    });
    assert.equal(fault(noReason).message, 'Missing disabled reason field');
  });

  it('updates by uuid from 2.53', async () => {
    const api = client(h.app, 'admin', '2.53');
    const res = await api.put(`/v2.1/os-services/${host2.service.uuid}`, {
      status: 'disabled',
      disabled_reason: 'rack move',
    });
    assert.equal(res.statusCode, 200);
    const service = res.json().service;
    assert.equal(service.id, host2.service.uuid);
    assert.equal(service.status, 'disabled');
    assert.equal(service.disabled_reason, 'rack move');
    const both = await api.put(`/v2.1/os-services/${host2.service.uuid}`, { status: 'enabled', disabled_reason: 'x' });
    assert.equal(both.statusCode, 400);
    const nothing = await api.put(`/v2.1/os-services/${host2.service.uuid}`, {});
    assert.equal(
      fault(nothing).message,
      "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
    );
    const notUuid = await api.put('/v2.1/os-services/enable', { host: 'host2', binary: 'stratus-compute' });
    assert.equal(notUuid.statusCode, 400);
    const unknown = await api.put('/v2.1/os-services/00000000-0000-4000-8000-000000000000', { status: 'enabled' });
    assert.equal(unknown.statusCode, 404);
    await api.put(`/v2.1/os-services/${host2.service.uuid}`, { status: 'enabled' });
  });

  it('deletes a compute service only when it hosts no servers', async () => {
    const busy = await client(h.app, 'admin').delete(`/v2.1/os-services/${host1.service.id}`);
    assert.equal(busy.statusCode, 409);
    const spare = await addComputeHost(h, 'spare');
    const badId = await client(h.app, 'admin').delete('/v2.1/os-services/spare');
    assert.equal(badId.statusCode, 400);
    const res = await client(h.app, 'admin', '2.53').delete(`/v2.1/os-services/${spare.service.uuid}`);
    assert.equal(res.statusCode, 204);
    const hypervisors = (await client(h.app, 'admin').get('/v2.1/os-hypervisors')).json().hypervisors;
    assert.equal(
      hypervisors.some((hv: { hypervisor_hostname: string }) => hv.hypervisor_hostname === 'spare-node'),
      false,
    );
    assert.equal(
      (await client(h.app, 'admin', '2.53').delete(`/v2.1/os-services/${spare.service.uuid}`)).statusCode,
      404,
    );
  });
});

describe('os-hypervisors', () => {
  it('lists hypervisors with their state, by integer id before 2.53 and uuid after', async () => {
    const old = (await client(h.app, 'admin').get('/v2.1/os-hypervisors')).json().hypervisors;
    assert.deepEqual(old, [
      { id: host1.node.id, hypervisor_hostname: 'host1-node', state: 'up', status: 'enabled' },
      { id: host2.node.id, hypervisor_hostname: 'host2-node', state: 'down', status: 'enabled' },
    ]);
    const newer = (await client(h.app, 'admin', '2.53').get('/v2.1/os-hypervisors')).json().hypervisors;
    assert.equal(newer[0].id, host1.node.uuid);
  });

  it('reports usage from the allocations, and cpu_info as an object from 2.28', async () => {
    const [hv] = (await client(h.app, 'admin').get('/v2.1/os-hypervisors/detail')).json().hypervisors;
    assert.equal(hv.vcpus, 8);
    assert.equal(hv.vcpus_used, 3);
    assert.equal(hv.memory_mb, 16384);
    assert.equal(hv.memory_mb_used, 3072);
    assert.equal(hv.free_ram_mb, 16384 - 3072);
    assert.equal(hv.local_gb_used, 30);
    assert.equal(hv.free_disk_gb, 170);
    assert.equal(hv.current_workload, 1);
    assert.equal(hv.hypervisor_type, 'fake');
    assert.deepEqual(hv.service, { id: host1.service.id, host: 'host1', disabled_reason: null });
    assert.equal(typeof hv.cpu_info, 'string');
    const modern = (await client(h.app, 'admin', '2.28').get(`/v2.1/os-hypervisors/${host1.node.id}`)).json()
      .hypervisor;
    assert.deepEqual(modern.cpu_info, { arch: 'x86_64', model: 'fake' });
    const latest = (await client(h.app, 'admin', '2.88').get(`/v2.1/os-hypervisors/${host1.node.uuid}`)).json()
      .hypervisor;
    assert.equal('vcpus_used' in latest, false, '2.88 drops the usage figures');
    assert.equal(latest.uptime, null);
  });

  it('sums the figures in statistics (before 2.88)', async () => {
    const stats = (await client(h.app, 'admin').get('/v2.1/os-hypervisors/statistics')).json().hypervisor_statistics;
    assert.equal(stats.count, 2);
    assert.equal(stats.vcpus, 12);
    assert.equal(stats.vcpus_used, 3);
    assert.equal(stats.memory_mb, 16384 + 8192);
    assert.equal(stats.memory_mb_used, 3072);
    assert.equal(stats.local_gb_used, 30);
    assert.equal((await client(h.app, 'admin', '2.88').get('/v2.1/os-hypervisors/statistics')).statusCode, 404);
  });

  it('searches by hostname pattern with servers from 2.53, and by route before', async () => {
    const res = await client(h.app, 'admin', '2.53').get(
      '/v2.1/os-hypervisors?hypervisor_hostname_pattern=host1&with_servers=true',
    );
    const [hv] = res.json().hypervisors;
    assert.deepEqual(
      hv.servers.map((s: { name: string }) => s.name),
      ['a', 'b'],
    );
    const none = await client(h.app, 'admin', '2.53').get('/v2.1/os-hypervisors?hypervisor_hostname_pattern=zzz');
    assert.equal(none.statusCode, 404);
    assert.equal(fault(none).message, "No hypervisor matching 'zzz' could be found.");
    const paging = await client(h.app, 'admin', '2.53').get(
      '/v2.1/os-hypervisors?hypervisor_hostname_pattern=host&limit=1',
    );
    assert.equal(paging.statusCode, 400);
    const legacy = (await client(h.app, 'admin').get('/v2.1/os-hypervisors/host2/servers')).json().hypervisors;
    assert.equal(legacy[0].hypervisor_hostname, 'host2-node');
  });

  it('pages from 2.33 and refuses bad ids and members', async () => {
    const page = (await client(h.app, 'admin', '2.33').get('/v2.1/os-hypervisors?limit=1')).json();
    assert.equal(page.hypervisors.length, 1);
    assert.match(page.hypervisors_links[0].href, new RegExp(`marker=${host1.node.id}`));
    const second = (
      await client(h.app, 'admin', '2.33').get(`/v2.1/os-hypervisors?limit=1&marker=${host1.node.id}`)
    ).json();
    assert.equal(second.hypervisors[0].id, host2.node.id);
    assert.equal((await client(h.app, 'admin').get('/v2.1/os-hypervisors/abc')).statusCode, 404);
    assert.equal((await client(h.app, 'admin', '2.53').get('/v2.1/os-hypervisors/abc')).statusCode, 400);
    assert.equal((await client(h.app, 'admin').get('/v2.1/os-hypervisors/999')).statusCode, 404);
    assert.equal((await client(h.app, 'alice').get('/v2.1/os-hypervisors')).statusCode, 403);
  });
});

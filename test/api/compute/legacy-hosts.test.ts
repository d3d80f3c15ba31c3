/** os-hosts until 2.42: the service hosts, a host's resources, and the actions a libvirt-like host cannot do. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFlavor } from '../../../src/objects/flavors.ts';
import { registerService, updateService } from '../../../src/objects/services.ts';
import { claimResources } from '../../../src/placement/claims.ts';
import {
  PROJECT_A,
  PROJECT_B,
  addComputeHost,
  client,
  fault,
  seedServer,
  startComputeApi,
  type Harness,
} from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
  const host1 = await addComputeHost(h, 'host1', { vcpus: 8, memoryMb: 16384, diskGb: 200 });
  const host2 = await addComputeHost(h, 'host2');
  await updateService(h.database.db, host2.service.id, { disabled: 1, disabled_reason: 'off' });
  await registerService(h.database.db, 'controller', 'stratus-conductor', 'conductor');
  await registerService(h.database.db, 'controller', 'stratus-api', 'api');
  const medium = await createFlavor(h.database.db, {
    flavorid: '2',
    name: 'm',
    memory_mb: 2048,
    vcpus: 2,
    root_gb: 10,
  });
  const a = await seedServer(h, { host: 'host1' });
  await seedServer(h, { host: 'host1', flavor: medium });
  await seedServer(h, { host: 'host1', project: PROJECT_B, user: 'bob' });
  await claimResources(h.database.db, a.uuid, host1.node.uuid, { VCPU: 1, MEMORY_MB: 512, DISK_GB: 1 }, 'hdd');
});
after(async () => {
  await h.close();
});

describe('os-hosts', () => {
  it('lists the enabled services but the API, with their zones, until 2.42', async () => {
    const res = await client(h.app, 'admin', '2.42').get('/v2.1/os-hosts');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().hosts, [
      { host_name: 'host1', service: 'compute', zone: 'nova' },
      { host_name: 'controller', service: 'conductor', zone: 'internal' },
    ]);
    const zoned = await client(h.app, 'admin').get('/v2.1/os-hosts?zone=internal');
    assert.deepEqual(
      zoned.json().hosts.map((x: { host_name: string }) => x.host_name),
      ['controller'],
    );
    assert.equal((await client(h.app, 'admin', '2.43').get('/v2.1/os-hosts')).statusCode, 404);
    assert.equal((await client(h.app, 'alice').get('/v2.1/os-hosts')).statusCode, 403);
  });

  it("shows a host's totals, what placement holds and what its servers ask for, per project", async () => {
    const res = await client(h.app, 'admin').get('/v2.1/os-hosts/host1');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json().host.map((r: { resource: unknown }) => r.resource),
      [
        { host: 'host1', project: '(total)', cpu: 8, memory_mb: 16384, disk_gb: 200 },
        { host: 'host1', project: '(used_now)', cpu: 1, memory_mb: 512, disk_gb: 1 },
        { host: 'host1', project: '(used_max)', cpu: 4, memory_mb: 3072, disk_gb: 12 },
        { host: 'host1', project: PROJECT_A, cpu: 3, memory_mb: 2560, disk_gb: 11 },
        { host: 'host1', project: PROJECT_B, cpu: 1, memory_mb: 512, disk_gb: 1 },
      ],
    );
    const unknown = await client(h.app, 'admin').get('/v2.1/os-hosts/nowhere');
    assert.equal(unknown.statusCode, 404);
    assert.equal(fault(unknown).message, "Host 'nowhere' is not mapped to any cell");
  });

  it('answers status as asked and changes nothing; maintenance and power actions are 501', async () => {
    const admin = client(h.app, 'admin');
    const res = await admin.put('/v2.1/os-hosts/host1', { status: 'Disable' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { host: 'host1', status: 'disabled' });
    const services = await client(h.app, 'admin').get('/v2.1/os-services?host=host1');
    assert.equal(services.json().services[0].status, 'enabled', 'os-services is how a host is disabled');
    const maintenance = await admin.put('/v2.1/os-hosts/host1', { maintenance_mode: 'enable' });
    assert.equal(maintenance.statusCode, 501);
    assert.equal(fault(maintenance).message, 'The requested functionality is not supported.');
    for (const action of ['reboot', 'shutdown', 'startup']) {
      assert.equal((await admin.get(`/v2.1/os-hosts/host1/${action}`)).statusCode, 501, action);
      assert.equal((await admin.get(`/v2.1/os-hosts/nowhere/${action}`)).statusCode, 404, action);
      assert.equal((await client(h.app, 'admin', '2.43').get(`/v2.1/os-hosts/host1/${action}`)).statusCode, 404);
    }
    for (const body of [{}, { status: 'on' }, { status: 'enable', extra: 1 }]) {
      assert.equal((await admin.put('/v2.1/os-hosts/host1', body)).statusCode, 400, JSON.stringify(body));
    }
    assert.equal((await admin.put('/v2.1/os-hosts/nowhere', { status: 'enable' })).statusCode, 404);
    assert.equal((await client(h.app, 'alice').put('/v2.1/os-hosts/host1', { status: 'enable' })).statusCode, 403);
  });
});

/**
 * GET /servers/{id}/diagnostics answered by a compute host on an in-process bus with the fake driver:
 * the legacy free-form body before 2.48 and the standard one from 2.48, derived from the guest (its
 * flavor's CPUs, memory and disks), admin-only policy, and 409 for a guest that does not run or a server
 * with no host.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FakeDriver } from '../../../src/compute/virt/fake/fake-driver.ts';
import { instancePayload } from '../../../src/objects/instance-payload.ts';
import { createFlavor } from '../../../src/objects/flavors.ts';
import type { Instance } from '../../../src/objects/instances.ts';
import { PowerState, VmState } from '../../../src/wire/messages/instance-states.ts';
import { client, fault, seedServer, type Harness } from './helpers.ts';
import { startApiWithFakeHost, type ApiWithFakeHost } from './api-with-fake-host.ts';

let h: Harness;
let driver: FakeDriver;
let host: ApiWithFakeHost;

before(async () => {
  host = await startApiWithFakeHost();
  ({ h, driver } = host);
});

after(() => host.close());

const diagnostics = (uuid: string) => `/v2.1/servers/${uuid}/diagnostics`;

async function runningGuest(fields: Parameters<typeof seedServer>[1] = {}): Promise<Instance> {
  const instance = await seedServer(h, fields);
  await driver.spawn(instancePayload(instance), 'host1');
  return instance;
}

describe('GET /servers/{id}/diagnostics', () => {
  it('answers the standard body from 2.48, from the guest the host runs', async () => {
    const flavor = await createFlavor(h.database.db, {
      flavorid: 'diag',
      name: 'diag',
      memory_mb: 1024,
      vcpus: 2,
      root_gb: 1,
      ephemeral_gb: 1,
    });
    const instance = await runningGuest({ flavor });
    const res = await client(h.app, 'admin', '2.48').get(diagnostics(instance.uuid));
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.state, 'running');
    assert.equal(body.driver, 'libvirt');
    assert.equal(body.num_cpus, 2);
    assert.deepEqual(
      body.cpu_details.map((c: { id: number }) => c.id),
      [0, 1],
    );
    assert.deepEqual(body.memory_details, { maximum: 1024, used: 1024 });
    assert.equal(body.num_disks, 2, 'root and ephemeral');
    assert.equal(body.disk_details.length, 2);
    assert.ok(body.disk_details[0].read_requests > 0);
    assert.equal(body.num_nics, 0);
    assert.deepEqual(body.nic_details, []);
    assert.equal(body.config_drive, false);
    assert.ok(Number.isInteger(body.uptime) && body.uptime >= 0);
  });

  it('answers the free-form body before 2.48', async () => {
    const instance = await runningGuest();
    const res = await client(h.app, 'admin', '2.47').get(diagnostics(instance.uuid));
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), [
      'cpu0_time',
      'memory',
      'vda_errors',
      'vda_read',
      'vda_read_req',
      'vda_write',
      'vda_write_req',
    ]);
    assert.equal(body.memory, 512 * 1024, 'KiB of the 512 MB flavor');
  });

  it('shows a rescued guest with its two disks', async () => {
    const instance = await runningGuest();
    await driver.rescue(instance.uuid, 'rescue-image');
    const body = (await client(h.app, 'admin', '2.48').get(diagnostics(instance.uuid))).json();
    assert.equal(body.num_disks, 2);
  });

  it('is admin-only by default (403 for the owner), 404 for an unknown server', async () => {
    const instance = await runningGuest();
    const res = await client(h.app, 'alice', '2.48').get(diagnostics(instance.uuid));
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, "Policy doesn't allow os_compute_api:os-server-diagnostics to be performed.");
    const missing = await client(h.app, 'admin').get(diagnostics('00000000-0000-4000-8000-000000000000'));
    assert.equal(missing.statusCode, 404);
  });

  it("is 409 for a guest that does not run, in Nova's words, and for a server with no host", async () => {
    const instance = await runningGuest({ state: { vm_state: VmState.STOPPED, power_state: PowerState.SHUTDOWN } });
    await driver.powerOff(instance.uuid);
    const res = await client(h.app, 'admin', '2.48').get(diagnostics(instance.uuid));
    assert.equal(res.statusCode, 409);
    assert.equal(
      fault(res).message,
      `Cannot 'get_diagnostics' instance ${instance.uuid} while it is in power state shutdown`,
    );
    const unplaced = await seedServer(h, { host: null });
    const notReady = await client(h.app, 'admin').get(diagnostics(unplaced.uuid));
    assert.equal(notReady.statusCode, 409);
    assert.equal(fault(notReady).message, `Instance ${unplaced.uuid} is not ready`);
  });
});

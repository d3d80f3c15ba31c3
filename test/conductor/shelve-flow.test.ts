/**
 * Shelve, offload and unshelve through the conductor, the scheduler and fake-driver compute hosts on an
 * in-process bus, with an image API stand-in over HTTP: the states in Nova's order, placement usage
 * freed by the offload and claimed again by the unshelve, the shelved image deleted once the server
 * runs again, a failed scheduling leaving the server offloaded with a fault and nothing claimed, and a
 * deleted shelved image putting the server in ERROR before it is scheduled.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { listActions, startAction } from '../../src/objects/instance-actions.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { updateInstance, type Instance } from '../../src/objects/instances.ts';
import { getRequestSpec, saveRequestSpec } from '../../src/objects/request-specs.ts';
import { providerUsages } from '../../src/placement/providers.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { startImageApiStub, type ImageApiStub } from '../helpers/image-api-stub.ts';
import { createTestNetwork } from '../helpers/networks.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { waitUntil } from '../helpers/processes.ts';

const settled = (i: Instance) => i.task_state === null && !['building'].includes(i.vm_state);

let stub: ImageApiStub;
const dir = mkdtempSync(join(tmpdir(), 'shelve-flow-'));
before(async () => {
  stub = await startImageApiStub();
});
after(async () => {
  await stub.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A cloud whose compute hosts upload to and delete from the image API stand-in. */
function shelvingCloud(hosts: string[], DEFAULT: Record<string, string> = {}): Promise<TestCloud> {
  return startTestCloud({
    computeHosts: hosts,
    overrides: {
      DEFAULT,
      glance: { auth_url: `${stub.url}/v3`, username: 'compute', password: 'secret', api_servers: stub.url },
    },
  });
}

describe('shelve flow (api casts -> compute -> conductor -> scheduler)', () => {
  let cloud: TestCloud;
  let compute: ComputeRpcApi;

  const shelve = (uuid: string) => shelveAsApi(cloud, compute, uuid);
  const unshelve = (uuid: string, host?: string) => unshelveAsApi(cloud, uuid, host);
  const vcpusUsed = () => vcpusHeld(cloud);

  before(async () => {
    cloud = await shelvingCloud(['host-a', 'host-b']);
    compute = new ComputeRpcApi(cloud.bus.rpc);
  });
  after(() => cloud.stop());

  it('shelves (offloading at once), frees placement, unshelves by scheduling again and deletes the image', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.shelve');
    const [uuid] = await cloud.boot(flavor, 1, 'shelved');
    const booted = await cloud.waitFor(uuid!, settled);
    assert.equal(booted.vm_state, 'active');
    assert.equal(await vcpusUsed(), 1);

    const imageId = await shelve(uuid!);
    const offloaded = await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    assert.equal(offloaded.host, null);
    assert.equal(offloaded.node, null);
    assert.equal(offloaded.shelved_image_id, imageId);
    assert.equal(offloaded.shelved_host, booted.host);
    assert.ok(offloaded.shelved_at);
    assert.equal(await vcpusUsed(), 0, 'the offload gave the claim back');
    assert.deepEqual(stub.deleted, []);

    await unshelve(uuid!);
    const active = await cloud.waitFor(uuid!, (i) => i.vm_state === 'active' && i.task_state === null);
    assert.ok(active.host);
    assert.equal(active.power_state, 1);
    assert.equal(active.shelved_image_id, null);
    assert.equal(active.image_ref, booted.image_ref, 'the server keeps its own image');
    assert.equal(await vcpusUsed(), 1, 'claimed again');
    // The image is deleted just after the server is recorded ACTIVE.
    for (let i = 0; i < 100 && !stub.deleted.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stub.deleted, [imageId]);
    // The compute finishes its event just after it records the server ACTIVE: wait for the result.
    const unshelveAction = await waitUntil('the unshelve events finished', async () => {
      const action = (await listActions(cloud.database.db, uuid!)).find((a) => a.action === 'unshelve');
      return action?.events.every((e) => e.result !== null) ? action : null;
    });
    assert.deepEqual(unshelveAction.events.map((e) => [e.event, e.result]).sort(), [
      ['compute_unshelve_instance', 'Success'],
      ['get_image_info', 'Success'],
      ['schedule_instances', 'Success'],
    ]);
  });

  it('unbinds the port at offload and binds it to the host an admin names at unshelve', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.tohost');
    const net = await createTestNetwork(cloud.database.db, { projectId: 'p1', name: 'shelf', prefix: '10.95.0' });
    const nic = { network_id: net.id, fixed_ip: null, port_id: null, tag: null, security_groups: [] };
    const [uuid] = await cloud.boot(flavor, 1, 'tohost', { nics: [nic] });
    const booted = await cloud.waitFor(uuid!, settled);
    const portHosts = async () =>
      (await cloud.database.db.selectFrom('ports').selectAll().where('device_id', '=', uuid!).execute()).map(
        (p) => p.binding_host_id,
      );
    assert.deepEqual(await portHosts(), [booted.host]);
    await shelve(uuid!);
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    assert.deepEqual(await portHosts(), [''], "offloaded: still the server's port, bound to no host");
    const other = booted.host === 'host-a' ? 'host-b' : 'host-a';
    await unshelve(uuid!, other);
    const active = await cloud.waitFor(uuid!, (i) => i.vm_state === 'active' && i.task_state === null);
    assert.equal(active.host, other);
    assert.deepEqual(await portHosts(), [other], 'the same port, bound to the new host');
  });

  it('gives an offloaded server its config drive back on the host it is unshelved to', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.drive');
    const [uuid] = await cloud.boot(flavor, 1, 'drive', { configDrive: true });
    const booted = await cloud.waitFor(uuid!, settled);
    const hasDrive = async (i: Instance) =>
      (await compute.getDiagnostics(adminContext(), i.host!, instancePayload(i))).config_drive;
    assert.equal(await hasDrive(booted), true);
    await shelve(uuid!);
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    const other = booted.host === 'host-a' ? 'host-b' : 'host-a';
    await unshelve(uuid!, other);
    const active = await cloud.waitFor(uuid!, (i) => i.vm_state === 'active' && i.task_state === null);
    assert.equal(active.host, other);
    assert.equal(await hasDrive(active), true, 'the guest spawned on the other host has its drive');
  });

  it("puts the server in ERROR, with Nova's fault and nothing claimed, when its shelved image is gone", async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.noimage');
    const [uuid] = await cloud.boot(flavor, 1, 'noimage');
    await cloud.waitFor(uuid!, settled);
    const imageId = await shelve(uuid!);
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    const gone = await fetch(`${stub.url}/v2/images/${imageId}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': 'stub-token' },
    });
    assert.equal(gone.status, 204);
    const before = await vcpusUsed();
    await unshelve(uuid!);
    const after = await cloud.waitFor(uuid!, (i) => i.task_state === null && i.vm_state !== 'shelved_offloaded');
    assert.equal(after.vm_state, 'error');
    assert.equal(after.host, null);
    assert.equal(await vcpusUsed(), before, 'never scheduled, nothing claimed');
    const fault = (await latestFaults(cloud.database.db, [uuid!])).get(uuid!);
    assert.equal(fault?.message, `Unshelve attempted but the image ${imageId} cannot be found.`);
    assert.equal(fault?.code, 404);
    const events = (await listActions(cloud.database.db, uuid!)).find((a) => a.action === 'unshelve')?.events;
    assert.deepEqual(
      events?.map((e) => [e.event, e.result]),
      [['get_image_info', 'Error']],
    );
  });

  it('leaves the server offloaded with a fault and nothing claimed when no host fits', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.nohost');
    const [uuid] = await cloud.boot(flavor, 1, 'nohost');
    await cloud.waitFor(uuid!, settled);
    await shelve(uuid!);
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    const before = await vcpusUsed();
    const spec = await getRequestSpec(cloud.database.db, uuid!);
    await saveRequestSpec(cloud.database.db, uuid!, { ...spec, availability_zone: 'nowhere' });
    await unshelve(uuid!);
    const after = await cloud.waitFor(uuid!, (i) => i.task_state === null);
    assert.equal(after.vm_state, 'shelved_offloaded');
    assert.equal(after.host, null);
    assert.equal(await vcpusUsed(), before);
    assert.match((await latestFaults(cloud.database.db, [uuid!])).get(uuid!)?.message ?? '', /No valid host/);
    const event = (await listActions(cloud.database.db, uuid!))
      .find((a) => a.action === 'unshelve')
      ?.events.find((e) => e.event === 'schedule_instances');
    assert.equal(event?.result, 'Error');
  });
});

describe('shelve with [DEFAULT] shelved_offload_time = -1', () => {
  let cloud: TestCloud;
  let compute: ComputeRpcApi;
  before(async () => {
    cloud = await shelvingCloud(['host-keep'], { shelved_offload_time: '-1' });
    compute = new ComputeRpcApi(cloud.bus.rpc);
  });
  after(() => cloud.stop());

  it('keeps the guest and its claim on the host, then unshelves it in place', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.keep');
    const [uuid] = await cloud.boot(flavor, 1, 'keep');
    await cloud.waitFor(uuid!, settled);
    const imageId = await shelveAsApi(cloud, compute, uuid!);
    const shelved = await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved' && i.task_state === null);
    assert.equal(shelved.host, 'host-keep');
    assert.equal(shelved.power_state, 4);
    assert.equal(await vcpusHeld(cloud), 1, 'a shelved server keeps its claim until offloaded');
    await unshelveAsApi(cloud, uuid!);
    const active = await cloud.waitFor(uuid!, (i) => i.vm_state === 'active' && i.task_state === null);
    assert.equal(active.host, 'host-keep');
    assert.equal(active.power_state, 1);
    for (let i = 0; i < 100 && !stub.deleted.includes(imageId); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(stub.deleted.includes(imageId), 'the shelved image is deleted');
  });
});

describe('a compute restart during an offload', () => {
  let cloud: TestCloud;
  let compute: ComputeRpcApi;
  before(async () => {
    cloud = await shelvingCloud(['host-r'], { shelved_offload_time: '-1' });
    compute = new ComputeRpcApi(cloud.bus.rpc);
  });
  after(() => cloud.stop());

  it('finishes the offload at start-up, so the server does not stay in shelving_offloading', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.restart');
    const [uuid] = await cloud.boot(flavor, 1, 'restart');
    await cloud.waitFor(uuid!, settled);
    await shelveAsApi(cloud, compute, uuid!);
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved' && i.task_state === null);
    await cloud.stopComputeHost('host-r');
    // The API had set the task and cast; the host went down before it did the work.
    await updateInstance(cloud.database.db, uuid!, { task_state: 'shelving_offloading' }, { taskState: [null] });
    await startAction(cloud.database.db, adminContext(), uuid!, 'shelveOffload');
    await cloud.startComputeHost('host-r', { DEFAULT: { shelved_offload_time: '-1' } });
    const offloaded = await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    assert.equal(offloaded.host, null);
    assert.equal(await vcpusHeld(cloud), 0);
  });
});

describe('shelve with [DEFAULT] shelved_offload_time = 1 (the periodic offload)', () => {
  let cloud: TestCloud;
  let compute: ComputeRpcApi;
  before(async () => {
    cloud = await shelvingCloud(['host-poll'], { shelved_offload_time: '1', shelved_poll_interval: '1' });
    compute = new ComputeRpcApi(cloud.bus.rpc);
  });
  after(() => cloud.stop());

  it('keeps the server SHELVED, then offloads it once it has been shelved long enough', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.poll');
    const [uuid] = await cloud.boot(flavor, 1, 'poll');
    await cloud.waitFor(uuid!, settled);
    await shelveAsApi(cloud, compute, uuid!);
    await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved' && i.task_state === null);
    const offloaded = await cloud.waitFor(uuid!, (i) => i.vm_state === 'shelved_offloaded' && i.task_state === null);
    assert.equal(offloaded.host, null);
    assert.equal(await vcpusHeld(cloud), 0);
    const actions = (await listActions(cloud.database.db, uuid!)).map((a) => a.action);
    assert.ok(actions.includes('shelveOffload'), 'the periodic offload is recorded as an action');
  });
});

/** What the API does for shelve: the queued image, task shelving, the action, the cast. */
async function shelveAsApi(cloud: TestCloud, compute: ComputeRpcApi, uuid: string): Promise<string> {
  const imageId = randomUUID();
  const file = join(dir, imageId);
  writeFileSync(file, '');
  stub.add({ id: imageId, diskFormat: 'raw', file });
  const claimed = await updateInstance(cloud.database.db, uuid, { task_state: 'shelving' }, { taskState: [null] });
  const ctx = adminContext();
  await startAction(cloud.database.db, ctx, uuid, 'shelve');
  await compute.shelveInstance(ctx, claimed.host!, instancePayload(claimed), imageId);
  return imageId;
}

/** What the API does for unshelve: task unshelving, the action, the cast to the conductor. */
async function unshelveAsApi(cloud: TestCloud, uuid: string, host?: string): Promise<void> {
  await updateInstance(cloud.database.db, uuid, { task_state: 'unshelving' }, { taskState: [null] });
  const ctx = adminContext();
  await startAction(cloud.database.db, ctx, uuid, 'unshelve');
  await cloud.conductor.unshelveInstance(ctx, uuid, host);
}

async function vcpusHeld(cloud: TestCloud): Promise<number> {
  return [...(await providerUsages(cloud.database.db)).values()].reduce((sum, u) => sum + (u.usages['VCPU'] ?? 0), 0);
}

/**
 * The disk snapshot extension end to end in one process, with the fake driver: the API, a real conductor
 * and a compute host on an in-process bus, so each request runs to its final state. Also the refusals
 * (400, 404, 409), ownership, the 503 of an unreachable host, failures ending in error statuses with the
 * task cleared, and the records going with a deleted server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ComputeManager } from '../../../src/compute/manager.ts';
import { FakeDriver } from '../../../src/compute/virt/fake/fake-driver.ts';
import {
  changeDiskSnapshotStatus,
  createDiskSnapshotRecord,
  DiskSnapshotStatus,
  listDiskSnapshots,
} from '../../../src/objects/disk-snapshots.ts';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { latestFaults } from '../../../src/objects/instance-faults.ts';
import { PowerState, VmState } from '../../../src/wire/messages/instance-states.ts';
import { getInstance, markInstanceDeleted, updateInstance, type Instance } from '../../../src/objects/instances.ts';
import { client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';
import { waitUntil } from '../../helpers/processes.ts';
import { startApiWithLiveHost, type ApiWithLiveHost } from './api-with-live-host.ts';

const HOST = 'snap-host';
let cloud: ApiWithLiveHost;
let h: Harness;
/** The same API over a transport that records casts instead of delivering them (or refuses them). */
let recording: Harness;
let driver: FakeDriver;
let manager: ComputeManager;

before(async () => {
  cloud = await startApiWithLiveHost(HOST);
  ({ h, driver, manager } = cloud);
  recording = await startComputeApi();
});

after(async () => {
  await cloud.close();
  await recording.close();
});

const snapshots = (uuid: string) => `/v2.1/servers/${uuid}/stratus-disk-snapshots`;
const action = (uuid: string) => `/v2.1/servers/${uuid}/action`;

interface SnapshotView {
  id: string;
  name: string;
  status: string;
  server_id: string;
  size: number | null;
  created_at: string;
  updated_at: string | null;
}

async function take(uuid: string, name: string): Promise<SnapshotView> {
  const res = await client(h.app, 'alice').post(snapshots(uuid), { disk_snapshot: { name } });
  assert.equal(res.statusCode, 202, res.body);
  await cloud.settled(uuid);
  return (res.json() as { disk_snapshot: SnapshotView }).disk_snapshot;
}

/** Reverts the server to snapshot `id`; returns the server once the compute host is done. */
async function revert(uuid: string, id: string): Promise<Instance> {
  const res = await client(h.app, 'alice').post(action(uuid), { revertDiskSnapshot: { snapshot_id: id } });
  assert.equal(res.statusCode, 202, res.body);
  return cloud.settled(uuid);
}

async function list(uuid: string): Promise<SnapshotView[]> {
  const res = await client(h.app, 'alice').get(snapshots(uuid));
  assert.equal(res.statusCode, 200);
  return (res.json() as { disk_snapshots: SnapshotView[] }).disk_snapshots;
}

const chainOf = async (uuid: string) => (await driver.diskSnapshots(uuid)).map((link) => link.id);

describe('disk snapshots (Stratus extension)', () => {
  it('takes links, merges one into its child, reverts to the first: records, chain and actions agree', async () => {
    const server = await cloud.runningServer();
    const first = await take(server.uuid, 's1');
    assert.equal(first.status, 'creating');
    assert.equal(first.server_id, server.uuid);
    assert.match(first.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    const second = await take(server.uuid, 's2');
    const third = await take(server.uuid, 's3');
    assert.deepEqual(
      (await list(server.uuid)).map((s) => [s.name, s.status]),
      [
        ['s1', 'available'],
        ['s2', 'available'],
        ['s3', 'available'],
      ],
    );
    assert.deepEqual(await chainOf(server.uuid), [first.id, second.id, third.id]);
    const one = await client(h.app, 'alice').get(`${snapshots(server.uuid)}/${second.id}`);
    assert.equal(one.statusCode, 200);
    assert.equal((one.json() as { disk_snapshot: SnapshotView }).disk_snapshot.name, 's2');

    const deleted = await client(h.app, 'alice').delete(`${snapshots(server.uuid)}/${second.id}`);
    assert.equal(deleted.statusCode, 202);
    await cloud.settled(server.uuid);
    assert.deepEqual(await chainOf(server.uuid), [first.id, third.id]);
    assert.deepEqual(
      (await list(server.uuid)).map((s) => s.name),
      ['s1', 's3'],
    );
    const gone = await client(h.app, 'alice').get(`${snapshots(server.uuid)}/${second.id}`);
    assert.equal(gone.statusCode, 404);
    assert.equal(fault(gone).message, `Disk snapshot ${second.id} could not be found.`);

    const after = await revert(server.uuid, first.id);
    assert.equal(after.vm_state, VmState.ACTIVE);
    assert.equal(after.power_state, PowerState.RUNNING);
    assert.deepEqual(await chainOf(server.uuid), [first.id]);
    assert.deepEqual(
      (await list(server.uuid)).map((s) => [s.name, s.status]),
      [['s1', 'available']],
    );

    const actions = await listActions(h.database.db, server.uuid);
    assert.deepEqual(actions.map((a) => a.action).reverse(), [
      'createDiskSnapshot',
      'createDiskSnapshot',
      'createDiskSnapshot',
      'deleteDiskSnapshot',
      'revertDiskSnapshot',
    ]);
    for (const a of actions)
      assert.deepEqual(
        a.events.map((e) => e.result),
        ['Success'],
        a.action,
      );
  });

  it('reverts a SHUTOFF server and leaves it SHUTOFF; links of a stopped guest are taken too', async () => {
    const server = await cloud.runningServer({
      state: { vm_state: VmState.STOPPED, power_state: PowerState.SHUTDOWN },
    });
    await driver.powerOff(server.uuid);
    const first = await take(server.uuid, 'off-1');
    await take(server.uuid, 'off-2');
    const after = await revert(server.uuid, first.id);
    assert.equal(after.vm_state, VmState.STOPPED);
    assert.equal(after.power_state, PowerState.SHUTDOWN);
    assert.deepEqual(await chainOf(server.uuid), [first.id]);
  });

  it('ends a failed create in error, with the task cleared, a fault and the event in Error', async () => {
    // The host has no guest for this server: the driver refuses.
    const server = await seedServer(h, { host: HOST });
    const taken = await take(server.uuid, 'doomed');
    const [record] = await list(server.uuid);
    assert.deepEqual([record?.id, record?.status], [taken.id, 'error']);
    const instance = await cloud.settled(server.uuid);
    assert.equal(instance.vm_state, VmState.ACTIVE);
    // The task is cleared first, then the fault and the event are recorded.
    await waitUntil('the action event finished', async () =>
      (await listActions(h.database.db, server.uuid))[0]?.events.every((e) => e.result !== null),
    );
    assert.match(
      (await latestFaults(h.database.db, [server.uuid])).get(server.uuid)?.message ?? '',
      /not on this host/,
    );
    const [createAction] = await listActions(h.database.db, server.uuid);
    assert.deepEqual(
      createAction?.events.map((e) => [e.event, e.result]),
      [['compute_create_disk_snapshot', 'Error']],
    );
    // An error record is no link: reverting to it is refused.
    const refused = await client(h.app, 'alice').post(action(server.uuid), {
      revertDiskSnapshot: { snapshot_id: taken.id },
    });
    assert.equal(refused.statusCode, 409);
    assert.equal(
      fault(refused).message,
      `Cannot revert to disk snapshot ${taken.id} while it is in status error; only an available snapshot can be reverted to`,
    );
  });

  it('refuses servers in the wrong state, locked or building with 409, and bad bodies with 400', async () => {
    const paused = await cloud.runningServer({ state: { vm_state: VmState.PAUSED, power_state: PowerState.PAUSED } });
    const link = await take(paused.uuid, 'paused-link');
    const revert = await client(h.app, 'alice').post(action(paused.uuid), {
      revertDiskSnapshot: { snapshot_id: link.id },
    });
    assert.equal(revert.statusCode, 409);
    assert.equal(
      fault(revert).message,
      `Cannot 'revertDiskSnapshot' instance ${paused.uuid} while it is in vm_state paused`,
    );
    const cases: [Parameters<typeof seedServer>[1], (uuid: string) => string][] = [
      [
        { state: { vm_state: 'error' } },
        (u) => `Cannot 'createDiskSnapshot' instance ${u} while it is in vm_state error`,
      ],
      [
        { state: { task_state: 'powering-off' } },
        (u) => `Cannot 'createDiskSnapshot' instance ${u} while it is in task_state powering-off`,
      ],
      [{ state: { locked: 1 } }, (u) => `Instance ${u} is locked`],
      [{ host: null }, (u) => `Instance ${u} is not ready`],
    ];
    for (const [fields, message] of cases) {
      const server = await seedServer(h, { host: HOST, ...fields });
      const res = await client(h.app, 'alice').post(snapshots(server.uuid), { disk_snapshot: { name: 'x' } });
      assert.equal(res.statusCode, 409, JSON.stringify(fields));
      assert.equal(fault(res).message, message(server.uuid));
      assert.deepEqual(await list(server.uuid), [], 'no record is left');
    }
    const server = await cloud.runningServer();
    for (const body of [
      {},
      { disk_snapshot: {} },
      { disk_snapshot: { name: '' } },
      { disk_snapshot: { name: 'x', extra: 1 } },
      { snapshot: { name: 'x' } },
    ]) {
      const res = await client(h.app, 'alice').post(snapshots(server.uuid), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    for (const body of [{ revertDiskSnapshot: {} }, { revertDiskSnapshot: { snapshot_id: 1 } }]) {
      const res = await client(h.app, 'alice').post(action(server.uuid), body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    const unknown = await client(h.app, 'alice').post(action(server.uuid), {
      revertDiskSnapshot: { snapshot_id: '00000000-0000-0000-0000-000000000000' },
    });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(await list(server.uuid), []);
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
  });

  it("hides another project's server and its snapshots (404); an admin sees them", async () => {
    const server = await cloud.runningServer();
    const link = await take(server.uuid, 'private');
    for (const res of [
      await client(h.app, 'bob').get(snapshots(server.uuid)),
      await client(h.app, 'bob').get(`${snapshots(server.uuid)}/${link.id}`),
      await client(h.app, 'bob').delete(`${snapshots(server.uuid)}/${link.id}`),
      await client(h.app, 'bob').post(snapshots(server.uuid), { disk_snapshot: { name: 'x' } }),
    ]) {
      assert.equal(res.statusCode, 404);
      assert.equal(fault(res).message, `Instance ${server.uuid} could not be found.`);
    }
    const admin = await client(h.app, 'admin').get(snapshots(server.uuid));
    assert.deepEqual(
      (admin.json() as { disk_snapshots: SnapshotView[] }).disk_snapshots.map((s) => s.id),
      [link.id],
    );
  });

  it('settles the records of an operation a compute restart interrupted, from the chain', async () => {
    const server = await cloud.runningServer();
    const done = await take(server.uuid, 'done');
    // As a crash would leave them: one link taken but not reported, one never taken, one half deleted.
    const [taken, lost] = [randomUUID(), randomUUID()];
    for (const [uuid, name] of [
      [taken, 'taken'],
      [lost, 'lost'],
    ] as const) {
      await createDiskSnapshotRecord(h.database.db, {
        uuid,
        instanceUuid: server.uuid,
        projectId: server.project_id,
        userId: server.user_id,
        name,
      });
    }
    await driver.createDiskSnapshot(server.uuid, taken);
    await changeDiskSnapshotStatus(h.database.db, done.id, DiskSnapshotStatus.DELETING, ['available']);
    await updateInstance(h.database.db, server.uuid, { task_state: 'disk_snapshotting' });
    await manager.initHost();
    assert.deepEqual(
      (await list(server.uuid)).map((s) => [s.name, s.status]),
      [
        ['done', 'error_deleting'],
        ['taken', 'available'],
        ['lost', 'error'],
      ],
    );
    assert.equal((await getInstance(h.database.db, server.uuid)).task_state, null);
  });

  it('goes with its server: a deleted server leaves no live record', async () => {
    const server = await cloud.runningServer();
    await take(server.uuid, 'with-server');
    await markInstanceDeleted(h.database.db, server.uuid);
    assert.deepEqual(await listDiskSnapshots(h.database.db, server.uuid), []);
  });
});

describe('disk snapshots: the casts', () => {
  it('casts create_disk_snapshot with the record id, the task set and the action recorded', async () => {
    recording.transport.casts.length = 0;
    const server = await seedServer(recording, { host: 'host1' });
    const res = await client(recording.app, 'alice').post(snapshots(server.uuid), { disk_snapshot: { name: 'c' } });
    assert.equal(res.statusCode, 202);
    const { id } = (res.json() as { disk_snapshot: SnapshotView }).disk_snapshot;
    assert.deepEqual(
      recording.transport.casts.map((c) => [c.queue, c.method, c.args['snapshot_id']]),
      [['compute.host1', 'create_disk_snapshot', id]],
    );
    assert.equal((await getInstance(recording.database.db, server.uuid)).task_state, 'disk_snapshotting');
    // While the task runs, every other change is refused.
    const busy = await client(recording.app, 'alice').post(snapshots(server.uuid), { disk_snapshot: { name: 'd' } });
    assert.equal(busy.statusCode, 409);
    const deleting = await client(recording.app, 'alice').delete(`${snapshots(server.uuid)}/${id}`);
    assert.equal(deleting.statusCode, 409);
    assert.equal(fault(deleting).message, `Cannot delete disk snapshot ${id} while it is in status creating`);
  });

  it('answers 503 when the host cannot be reached, leaving no record and no task', async () => {
    const server = await seedServer(recording, { host: 'host1' });
    recording.transport.refuse = new Error('compute.host1 is gone');
    try {
      const res = await client(recording.app, 'alice').post(snapshots(server.uuid), { disk_snapshot: { name: 'x' } });
      assert.equal(res.statusCode, 503);
    } finally {
      recording.transport.refuse = null;
    }
    assert.deepEqual(await listDiskSnapshots(recording.database.db, server.uuid), []);
    assert.equal((await getInstance(recording.database.db, server.uuid)).task_state, null);
  });
});

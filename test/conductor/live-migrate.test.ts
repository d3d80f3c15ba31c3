/**
 * Live migration through the conductor, the scheduler and fake-driver compute hosts on an in-process bus,
 * the API's records made as the API makes them: a scheduled and a forced migration ending ACTIVE on the
 * destination with the allocations there only; a failure injected at each step (the destination's check,
 * its prepare, the source's stream, the destination's resume) and an abort, each leaving the allocations
 * exactly the servers' flavors on the hosts they are on; force complete ending a long transfer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { listActions } from '../../src/objects/instance-actions.ts';
import { latestFaults } from '../../src/objects/instance-faults.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import { getInstance, updateInstance, type Instance } from '../../src/objects/instances.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { getMigration, MigrationStatus, type MigrationRecord } from '../../src/objects/migrations.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { vcpuHolders } from '../helpers/allocation-holders.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { liveMigrateAsApi as liveMigrate } from '../helpers/move-requests.ts';

const settled = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;
/** The source's transfers take this long, so that abort and force complete find them running. */
const TRANSFER_MS = 8000;

describe('live migration (api -> conductor -> scheduler -> computes)', () => {
  let cloud: TestCloud;
  let flavor: Flavor;
  let compute: ComputeRpcApi;
  const disable = (host: string, disabled: boolean) =>
    cloud.database.db
      .updateTable('services')
      .set({ disabled: disabled ? 1 : 0 })
      .where('host', '=', host)
      .execute();

  /** Each host holds exactly the flavors of the servers on it, nothing for any migration. */
  async function assertAllocationsMatchServers(uuids: string[]): Promise<void> {
    const held = await vcpuHolders(cloud);
    const servers = await Promise.all(uuids.map((u) => getInstance(cloud.database.db, u)));
    for (const s of servers) assert.equal(held.get(s.uuid), s.host, `server ${s.uuid} holds on its host`);
    const consumers = new Set(servers.map((s) => s.uuid));
    for (const consumer of held.keys()) assert.ok(consumers.has(consumer), `${consumer} holds nothing`);
  }

  const fault = async (uuid: string) => (await latestFaults(cloud.database.db, [uuid])).get(uuid)?.message ?? '';
  const uuids: Record<string, string> = {};
  const liveMigrateAsApi = (uuid: string, host?: string, force = false) => liveMigrate(cloud, uuid, host, force);

  before(async () => {
    cloud = await startTestCloud({
      computeHosts: [],
      overrides: { scheduler: { host_state_refresh_interval: '0' } },
    });
    compute = new ComputeRpcApi(cloud.bus.rpc);
    flavor = await smallFlavor(cloud.database, 'live.small', { vcpus: 1, root_gb: 1 });
    // Servers boot on the sources only: `src` (slow transfers) and `src-bad` (whose streams fail).
    await cloud.startComputeHost('src', { fake_driver: { live_migration_ms: String(TRANSFER_MS) } });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'p']) {
      const [uuid] = await cloud.boot(flavor, 1, name);
      uuids[name] = uuid!;
      await cloud.waitFor(uuid!, settled);
    }
    await disable('src', true);
    await cloud.startComputeHost('src-bad', { fake_driver: { move_failure_rates: 'live_migrate:1' } });
    const [bad] = await cloud.boot(flavor, 1, 'bad');
    uuids['bad'] = bad!;
    await cloud.waitFor(bad!, settled);
    await disable('src-bad', true);
    await disable('src', false);
    await cloud.startComputeHost('ok');
    await cloud.startComputeHost('chk', { fake_driver: { move_failure_rates: 'live_check:1' } });
    await cloud.startComputeHost('pre', { fake_driver: { move_failure_rates: 'live_pre:1' } });
    await cloud.startComputeHost('post', { fake_driver: { move_failure_rates: 'live_post:1' } });
  });
  after(() => cloud.stop());

  it('moves a running server to the scheduled host: ACTIVE there, migration completed, held there only', async () => {
    const uuid = uuids['a']!;
    // The scheduler may pick any enabled host: only `ok` is left enabled besides the source.
    for (const host of ['chk', 'pre', 'post']) await disable(host, true);
    const migration = await liveMigrateAsApi(uuid);
    const moved = await cloud.waitFor(uuid, settled, 20_000);
    for (const host of ['chk', 'pre', 'post']) await disable(host, false);
    assert.equal(moved.vm_state, VmState.ACTIVE);
    assert.equal(moved.host, 'ok');
    const done = await waitForStatus(migration.uuid, MigrationStatus.COMPLETED);
    assert.equal(done.dest_compute, 'ok');
    await assertAllocationsMatchServers(Object.values(uuids));
    const actions = await listActions(cloud.database.db, uuid);
    assert.ok(actions.some((a) => a.action === 'live-migration'));
    // The guest runs at the destination and is gone from the source.
    const guests = await compute
      .liveStep(adminContext(), 'ok', 'check_can_live_migrate_destination', instancePayload(moved), {
        migration_uuid: migration.uuid,
        source_compute: 'src',
        source_node: 'src',
        dest_compute: 'ok',
        dest_node: 'ok',
        block_migration: null,
      })
      .then(
        () => 'none',
        (err: Error) => err.message,
      );
    assert.match(guests, /already has a guest/);
  });

  /**
   * The migration's transfer under way on the source: its first progress report. `running` comes
   * before it (the conductor marks it, then casts the transfer to the source), and an abort or force
   * complete sent in between finds no transfer to act on.
   */
  async function waitForTransfer(migrationUuid: string): Promise<MigrationRecord> {
    await waitForStatus(migrationUuid, MigrationStatus.RUNNING);
    // The source reports its progress every second while it runs.
    const deadline = Date.now() + 5000;
    let running = await getMigration(cloud.database.db, migrationUuid);
    while (running.memory_total === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      running = await getMigration(cloud.database.db, migrationUuid);
    }
    return running;
  }

  async function waitForStatus(migrationUuid: string, status: string): Promise<MigrationRecord> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const m = await getMigration(cloud.database.db, migrationUuid);
      if (m.status === status) return m;
      if (Date.now() > deadline) assert.fail(`migration ${migrationUuid} is ${m.status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  for (const [host, step] of [
    ['chk', 'live_check'],
    ['pre', 'live_pre'],
  ] as const) {
    it(`a failed ${step} on the destination leaves the server running on its source`, async () => {
      const uuid = uuids['b']!;
      const migration = await liveMigrateAsApi(uuid, host, true);
      const stayed = await cloud.waitFor(uuid, settled, 20_000);
      assert.equal(stayed.host, 'src');
      assert.equal(stayed.vm_state, VmState.ACTIVE);
      assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
      assert.match(await fault(uuid), new RegExp(`injected ${step} failure`));
      await assertAllocationsMatchServers(Object.values(uuids));
    });
  }

  it('a failed stream on the source leaves the server running there; the destination rolls back', async () => {
    const uuid = uuids['bad']!;
    const migration = await liveMigrateAsApi(uuid, 'ok', true);
    const stayed = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(stayed.host, 'src-bad');
    assert.equal(stayed.vm_state, VmState.ACTIVE);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
    assert.match(await fault(uuid), /injected live_migrate failure/);
    await assertAllocationsMatchServers(Object.values(uuids));
    // The destination removed what it had prepared: the guest may go there again.
    const again = await liveMigrateAsApi(uuids['c']!, 'ok', true);
    assert.equal((await cloud.waitFor(uuids['c']!, settled, 20_000)).host, 'ok');
    await waitForStatus(again.uuid, MigrationStatus.COMPLETED);
  });

  it('a destination that cannot resume the guest leaves the server in ERROR there, nothing else held', async () => {
    const uuid = uuids['b']!;
    const migration = await liveMigrateAsApi(uuid, 'post', true);
    const broken = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(broken.vm_state, VmState.ERROR);
    assert.equal(broken.host, 'post');
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
    assert.match(await fault(uuid), /injected live_post failure/);
    await assertAllocationsMatchServers(Object.values(uuids));
  });

  it('an abort while it runs cancels it: the server runs on at the source', async () => {
    const uuid = uuids['d']!;
    const migration = await liveMigrateAsApi(uuid, 'ok', true);
    await waitForTransfer(migration.uuid);
    const instance = await getInstance(cloud.database.db, uuid);
    await compute.liveMigrationControl(
      adminContext(),
      'src',
      'live_migration_abort',
      instancePayload(instance),
      migration.uuid,
    );
    const stayed = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(stayed.host, 'src');
    assert.equal(stayed.vm_state, VmState.ACTIVE);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.CANCELLED);
    await assertAllocationsMatchServers(Object.values(uuids));
  });

  it('force complete ends a long transfer at once; the progress was reported meanwhile', async () => {
    const uuid = uuids['e']!;
    const migration = await liveMigrateAsApi(uuid, 'ok', true);
    const running = await waitForTransfer(migration.uuid);
    assert.equal(running.memory_total, flavor.memory_mb * 1024 ** 2);
    assert.ok(running.memory_processed! > 0);
    const instance = await getInstance(cloud.database.db, uuid);
    await compute.liveMigrationControl(
      adminContext(),
      'src',
      'live_migration_force_complete',
      instancePayload(instance),
      migration.uuid,
    );
    const moved = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(moved.host, 'ok');
    assert.equal(moved.vm_state, VmState.ACTIVE);
    await waitForStatus(migration.uuid, MigrationStatus.COMPLETED);
    await assertAllocationsMatchServers(Object.values(uuids));
  });

  it('a paused server stays paused on its new host', async () => {
    const uuid = uuids['p']!;
    const paused = await updateInstance(
      cloud.database.db,
      uuid,
      { task_state: TaskState.PAUSING },
      { taskState: [null] },
    );
    await compute.guestStateAction(adminContext(), 'src', 'pause', instancePayload(paused));
    await cloud.waitFor(uuid, (i) => i.vm_state === VmState.PAUSED && i.task_state === null);
    const migration = await liveMigrateAsApi(uuid, 'ok', true);
    const moved = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(moved.host, 'ok');
    assert.equal(moved.vm_state, VmState.PAUSED);
    await waitForStatus(migration.uuid, MigrationStatus.COMPLETED);
    await assertAllocationsMatchServers(Object.values(uuids));
  });

  it('a scheduled destination that refuses is given up for the next one (migrate_max_retries -1)', async () => {
    // Of the three hosts left, two refuse every migration at their check: whichever order the scheduler
    // picks them in, the server ends on the third.
    await cloud.startComputeHost('chk2', { fake_driver: { move_failure_rates: 'live_check:1' } });
    for (const host of ['src', 'pre', 'post']) await disable(host, true);
    const uuid = uuids['d']!;
    assert.equal((await getInstance(cloud.database.db, uuid)).host, 'src');
    const migration = await liveMigrateAsApi(uuid);
    const moved = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(moved.host, 'ok');
    assert.equal(moved.vm_state, VmState.ACTIVE);
    const done = await waitForStatus(migration.uuid, MigrationStatus.COMPLETED);
    assert.equal(done.dest_compute, 'ok');
    await assertAllocationsMatchServers(Object.values(uuids));
  });

  it("a forced host that is unknown or the server's own fails after the 202 (2.34): a fault, no move", async () => {
    const uuid = uuids['c']!;
    const before = await getInstance(cloud.database.db, uuid);
    for (const [host, message] of [
      ['nowhere', 'Compute host nowhere could not be found.'],
      [before.host!, `Unable to migrate instance (${uuid}) to current host (${before.host}).`],
    ] as const) {
      const migration = await liveMigrateAsApi(uuid, host, true);
      const stayed = await cloud.waitFor(uuid, settled, 20_000);
      assert.equal(stayed.host, before.host);
      assert.equal(stayed.vm_state, VmState.ACTIVE);
      assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
      assert.equal(await fault(uuid), message);
    }
    await assertAllocationsMatchServers(Object.values(uuids));
  });

  it('with no host to go to, the server stays as it was with a fault', async () => {
    for (const host of ['src', 'ok', 'chk', 'chk2', 'pre', 'post']) await disable(host, true);
    const uuid = uuids['a']!;
    const before = await getInstance(cloud.database.db, uuid);
    const migration = await liveMigrateAsApi(uuid);
    const stayed = await cloud.waitFor(uuid, settled, 20_000);
    assert.equal(stayed.host, before.host);
    assert.equal(stayed.vm_state, VmState.ACTIVE);
    assert.equal((await getMigration(cloud.database.db, migration.uuid)).status, MigrationStatus.ERROR);
    assert.match(await fault(uuid), /No valid host/);
    await assertAllocationsMatchServers(Object.values(uuids));
  });
});

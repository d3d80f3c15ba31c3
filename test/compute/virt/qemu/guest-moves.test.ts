/**
 * Resize and cold migration with the qemu driver and real guests: two compute managers in this process
 * stand for two hosts, each with its own instance directory and image cache, and the test plays the
 * conductor (it casts each step and passes on what the hosts report). The demo guest is resized from
 * host A to host B (its disk pulled over HTTP, its base fetched on B, its root disk grown) and boots
 * there (its console marker on B); the revert removes everything on B and boots it on A again; a cold
 * migration to B then is confirmed and leaves nothing on A; a same-host resize on B is reverted in
 * place; a live migration back to A keeps the guest running (it answers the power button there without
 * having booted there). A finish whose source cannot be reached leaves nothing on the destination, and a
 * live migration to a destination that is not there leaves the guest running on its source.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../../../src/common/config/load-config.ts';
import { adminContext } from '../../../../src/common/context.ts';
import { ComputeManager } from '../../../../src/compute/manager.ts';
import { NoopNetworkDriver } from '../../../../src/compute/network/noop-driver.ts';
import type { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import type { MoveStepReport } from '../../../../src/conductor/migrate-server.ts';
import type { Move } from '../../../../src/wire/contracts/compute.ts';
import type { ConductorRpcApi } from '../../../../src/wire/contracts/conductor.ts';
import type { InstancePayload } from '../../../../src/wire/messages/instance-payload.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { freePort } from '../../../helpers/free-port.ts';
import {
  consoleMarkers,
  demoGuestInstance,
  powerOf,
  qemuTestbed,
  waitForMarkers,
} from '../../../helpers/qemu-driver-fixtures.ts';
import { recordingConductor } from '../../../helpers/recording-conductor.ts';

const run = promisify(execFile);
const A = 'qmoves-a';
const B = 'qmoves-b';
const GiB = 1024 ** 3;
const bed = qemuTestbed('stratus-qmoves-');
const ctx = adminContext();

interface Host {
  name: string;
  manager: ComputeManager;
  driver: QemuDriver;
  instances: string;
}

/** A compute manager on its own qemu driver and instance directory; its move reports go to `reports`. */
async function host(name: string, reports: MoveStepReport[]): Promise<Host> {
  const driver = await bed.driver(name, name);
  const { conductor } = recordingConductor();
  const recording = new Proxy(conductor, {
    get: (target, key) =>
      key === 'moveStep'
        ? async (_ctx: unknown, report: MoveStepReport) => void reports.push(report)
        : target[key as keyof ConductorRpcApi],
  });
  const config = loadConfig([], { DEFAULT: { host: name, shutdown_timeout: '30' } });
  const manager = new ComputeManager(name, config, driver, new NoopNetworkDriver(), recording);
  return { name, manager, driver, instances: join(bed.work, name) };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function rootInfo(h: Host, uuid: string): Promise<{ size: number; chain: string[] }> {
  const disk = join(h.instances, uuid, 'disk');
  const { stdout } = await run('qemu-img', ['info', '--backing-chain', '-U', '--output=json', disk]);
  const chain = JSON.parse(stdout) as { filename: string; 'virtual-size': number }[];
  return { size: chain[0]!['virtual-size'], chain: chain.map((image) => image.filename) };
}

/** The files of the instance directory that are guests' (not the image cache). */
async function guestDirs(h: Host): Promise<string[]> {
  return (await readdir(h.instances)).filter((name) => name !== '_base' && name !== 'snapshots');
}

describe('qemu driver: resize and cold migration between two hosts', () => {
  it('moves the demo guest to the other host and back, confirms, and leaves nothing behind', async () => {
    const reports: MoveStepReport[] = [];
    const a = await host(A, reports);
    const b = await host(B, reports);
    const original = demoGuestInstance(A);
    const { uuid } = original;
    await a.driver.spawn(original, A);
    await waitForMarkers(a.driver, uuid, 1);
    const bigger: InstancePayload = {
      ...original,
      flavor: { ...original.flavor, name: 'test.bigger', root_gb: 2, memory_mb: 160, swap: 16 },
    };
    const move = (from: Host, to: Host, type: Move['migration_type'], id: string): Move => ({
      migration_uuid: id,
      migration_type: type,
      source_compute: from.name,
      source_node: from.name,
      dest_compute: to.name,
      dest_node: to.name,
    });
    const last = (step: MoveStepReport['step']): MoveStepReport => {
      const report = reports.at(-1)!;
      assert.equal(report.step, step);
      assert.equal(report.error, undefined, `${step}: ${report.error?.message}`);
      return report;
    };

    // A finish whose source cannot be reached fails and leaves nothing on the destination.
    const nowhere = { url: `http://127.0.0.1:${await freePort()}/nothing/` };
    await b.manager.moves.finishResize(ctx, bigger, move(a, b, 'resize', 'm0'), [], true, nowhere);
    assert.equal(reports.at(-1)!.step, 'finished');
    assert.ok(reports.at(-1)!.error, 'the failed fetch is reported');
    assert.deepEqual(await guestDirs(b), []);
    assert.equal(powerOf(a.driver, uuid), PowerState.RUNNING, 'the source guest was never touched');

    // Resize up from A to B: the guest boots at the destination, its root disk grown, on B's own base.
    const m1 = move(a, b, 'resize', 'm1');
    await b.manager.moves.prepResize(ctx, bigger, m1);
    last('prepared');
    await a.manager.moves.resizeInstance(ctx, bigger, m1);
    const source = last('migrated').disk_source;
    assert.ok(source, 'the source hands its disks over');
    assert.equal(powerOf(a.driver, uuid), PowerState.SHUTDOWN);
    await b.manager.moves.finishResize(ctx, bigger, m1, [], true, source);
    last('finished');
    await waitForMarkers(b.driver, uuid, 1);
    assert.equal(powerOf(b.driver, uuid), PowerState.RUNNING);
    const grown = await rootInfo(b, uuid);
    assert.equal(grown.size, 2 * GiB);
    assert.ok(grown.chain[1]!.startsWith(join(b.instances, '_base')), `backed by B's cache: ${grown.chain[1]}`);

    // Revert: B's guest and files go; A's guest boots again as it was.
    await b.manager.moves.revertResize(ctx, bigger, m1);
    last('reverted_dest');
    assert.deepEqual(await guestDirs(b), []);
    await a.manager.moves.finishRevertResize(ctx, original, m1, [], true);
    last('reverted');
    await waitForMarkers(a.driver, uuid, 2);
    assert.equal((await rootInfo(a, uuid)).size, 1 * GiB);
    await assert.rejects(fetch(new URL('manifest', source.url)), 'the export is closed after the revert');

    // Cold migration to B, confirmed: nothing of the guest is left on A.
    const m2 = move(a, b, 'migration', 'm2');
    await b.manager.moves.prepResize(ctx, original, m2);
    await a.manager.moves.resizeInstance(ctx, original, m2);
    const source2 = last('migrated').disk_source;
    await b.manager.moves.finishResize(ctx, original, m2, [], true, source2);
    last('finished');
    await a.manager.moves.confirmResize(ctx, original, m2);
    last('confirmed');
    assert.deepEqual(await guestDirs(a), []);
    assert.deepEqual(a.driver.listGuests(), []);
    await waitForMarkers(b.driver, uuid, 1);

    // A same-host resize on B, reverted: the guest boots with the new flavor, then as it was, no backup left.
    const m3 = move(b, b, 'resize', 'm3');
    const before = await consoleMarkers(b.driver, uuid);
    await b.manager.moves.prepResize(ctx, bigger, m3);
    await b.manager.moves.resizeInstance(ctx, bigger, m3);
    assert.equal(last('migrated').disk_source, undefined, 'nothing to fetch on the same host');
    await b.manager.moves.finishResize(ctx, bigger, m3, [], true, null);
    last('finished');
    await waitForMarkers(b.driver, uuid, before + 1);
    assert.equal((await rootInfo(b, uuid)).size, 2 * GiB);
    await b.manager.moves.revertResize(ctx, bigger, m3);
    assert.equal(powerOf(b.driver, uuid), PowerState.RUNNING, 'the same host keeps its guest for the source step');
    await b.manager.moves.finishRevertResize(ctx, original, m3, [], true);
    last('reverted');
    await waitForMarkers(b.driver, uuid, before + 2);
    assert.equal((await rootInfo(b, uuid)).size, 1 * GiB);
    assert.equal(await exists(join(b.instances, uuid, 'resize-backup')), false);
    assert.equal(await exists(join(b.instances, uuid, 'disk.swap')), false, "the bigger flavor's swap is gone");

    // A live migration to a destination that is not there fails at once; the guest runs on at B.
    const gone = await freePort();
    const unreachable = { uri: `tcp:127.0.0.1:${gone}`, nbd: { host: '127.0.0.1', port: gone, drives: ['virtio0'] } };
    await assert.rejects(b.driver.liveMigration.liveMigration(uuid, unreachable));
    assert.equal(powerOf(b.driver, uuid), PowerState.RUNNING);

    // Live migration back to A (block migration over NBD, the state over TCP): the guest never boots at
    // A, yet runs there: it answers the power button on A's console.
    const target = await a.driver.liveMigration.preLiveMigration(original, A, []);
    const stats = await b.driver.liveMigration.liveMigration(uuid, target);
    assert.ok(stats.totalMs > 0 && stats.downtimeMs >= 0, JSON.stringify(stats));
    await a.driver.liveMigration.postLiveMigrationAtDestination(uuid);
    await b.driver.destroy(uuid);
    assert.deepEqual(await guestDirs(b), []);
    assert.equal(powerOf(a.driver, uuid), PowerState.RUNNING);
    assert.equal(await consoleMarkers(a.driver, uuid), 0, 'the guest did not boot again at the destination');
    await a.driver.powerOff(uuid, 60);
    assert.match(await a.driver.getConsoleOutput(uuid), /power button pressed/);
    await a.driver.destroy(uuid);
    assert.deepEqual(await guestDirs(a), []);
  });
});

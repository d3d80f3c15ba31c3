/**
 * Benchmark `live-migration`: the demo guest live-migrated between two qemu driver hosts of this process
 * (each its own instance directory and image cache), back and forth, by the driver's steps as the
 * compute hosts run them: the destination prepares (disks, qemu waiting, NBD export), the source mirrors
 * the disks and migrates, the destination resumes the guest, the source removes its guest.
 *   npm run bench -- live-migration [--runs 5]
 * Reports p50 and max of the whole move (prepare to resumed), QEMU's own total time and the downtime (the
 * guest's CPUs stopped: QEMU's downtime plus the end of the disk copies before the resume).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QemuDriver } from '../src/compute/virt/qemu/qemu-driver.ts';
import {
  demoGuestInstance,
  qemuTestDriver,
  startDemoGuestImages,
  waitForMarkers,
} from '../test/helpers/qemu-driver-fixtures.ts';
import { percentile } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[live-migration] ${msg}\n`);

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const runs = Number(args['runs'] ?? 5);
  const dir = await mkdtemp(join(tmpdir(), 'stratus-bench-live-'));
  const stub = await startDemoGuestImages();
  const drivers: QemuDriver[] = [];
  try {
    for (const name of ['live-a', 'live-b']) {
      const driver = qemuTestDriver(stub, join(dir, name));
      await driver.init(name);
      drivers.push(driver);
    }
    const [a, b] = drivers as [QemuDriver, QemuDriver];
    const instance = demoGuestInstance('live-a');
    say('booting the demo guest on live-a');
    await a.spawn(instance, 'live-a');
    await waitForMarkers(a, instance.uuid, 1);
    const wholeMs: number[] = [];
    const qemuTotalMs: number[] = [];
    const downtimeMs: number[] = [];
    let [source, dest] = [a, b];
    for (let i = 0; i < runs; i++) {
      const destName = dest === a ? 'live-a' : 'live-b';
      const t = performance.now();
      const target = await dest.liveMigration.preLiveMigration({ ...instance, host: destName }, destName, []);
      const stats = await source.liveMigration.liveMigration(instance.uuid, target);
      await dest.liveMigration.postLiveMigrationAtDestination(instance.uuid);
      wholeMs.push(performance.now() - t);
      await source.destroy(instance.uuid);
      qemuTotalMs.push(stats.totalMs);
      downtimeMs.push(stats.downtimeMs);
      say(`run ${i + 1}: ${Math.round(wholeMs.at(-1)!)} ms, downtime ${stats.downtimeMs} ms`);
      [source, dest] = [dest, source];
    }
    return {
      runs,
      move_ms_p50: percentile(wholeMs, 50),
      move_ms_max: percentile(wholeMs, 100),
      qemu_total_ms_p50: percentile(qemuTotalMs, 50),
      downtime_ms_p50: percentile(downtimeMs, 50),
      downtime_ms_max: percentile(downtimeMs, 100),
    };
  } finally {
    for (const driver of drivers) {
      for (const guest of driver.listGuests()) await driver.destroy(guest.uuid).catch(() => undefined);
      await driver.shutdown();
    }
    await stub.close();
    await rm(dir, { recursive: true, force: true });
  }
}

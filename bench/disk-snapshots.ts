/**
 * Benchmark `disk-snapshots`: the qemu driver's disk snapshots of one running demo guest, against
 * createImage's capture measured in the same run.
 *   npm run bench -- disk-snapshots [--links 10] [--write-mb 256]
 * First `--write-mb` MiB are written into the guest's root disk (beyond its filesystem, with qemu-io while
 * it is off), so the disk holds that much data of its own. Then, with the guest running: createImage's
 * capture (`snapshot`: the guest's CPUs stopped while the disk is flattened, so that duration is the
 * guest's pause) a few times; `--links` live disk snapshots (blockdev-snapshot-sync, no pause); the same
 * number of live merges of the oldest link into its child (block-stream); and a revert to the last link
 * until the guest's qemu runs again. Each figure is a duration of the driver call, p50 / max in ms.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { QemuDriver } from '../src/compute/virt/qemu/qemu-driver.ts';
import {
  demoGuestInstance,
  qemuTestDriver,
  startDemoGuestImages,
  waitForMarkers,
} from '../test/helpers/qemu-driver-fixtures.ts';
import { percentile } from './stats.ts';

const exec = promisify(execFile);
const say = (msg: string) => process.stderr.write(`[disk-snapshots] ${msg}\n`);
const HOST = 'bench-host';

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** `p50 / max` in ms, one decimal. */
function summary(values: number[]): string {
  return `${percentile(values, 50, 1).toFixed(1)} / ${percentile(values, 100, 1).toFixed(1)}`;
}

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const links = Number(args['links'] ?? 10);
  const writeMb = Number(args['write-mb'] ?? 256);
  const work = await mkdtemp(join(tmpdir(), 'stratus-bench-disksnap-'));
  const stub = await startDemoGuestImages();
  let driver: QemuDriver | null = null;
  // Room for the data written 1 GiB into the disk.
  const guest = demoGuestInstance(HOST, { root_gb: Math.ceil((1024 + writeMb) / 1024) + 1 });
  try {
    driver = qemuTestDriver(stub, join(work, 'instances'));
    await driver.init(HOST);
    await driver.spawn(guest, HOST);
    await waitForMarkers(driver, guest.uuid, 1);
    say(`guest booted; writing ${writeMb} MiB into its disk`);
    await driver.powerOff(guest.uuid, 60);
    const disk = join(work, 'instances', guest.uuid, 'disk');
    // 1 GiB on: beyond the demo guest's filesystem, so it boots as before.
    await exec('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5a 1G ${writeMb}M`, disk]);
    await driver.powerOn(guest.uuid);
    await waitForMarkers(driver, guest.uuid, 2);

    const capture: number[] = [];
    for (let i = 0; i < 3; i++) {
      capture.push(
        await timed(async () => {
          const data = await driver!.snapshot(guest.uuid);
          await data.discard();
        }),
      );
    }
    say(`createImage capture (guest paused): ${summary(capture)} ms`);
    const ids = Array.from({ length: links }, () => randomUUID());
    const take: number[] = [];
    for (const id of ids) take.push(await timed(() => driver!.createDiskSnapshot(guest.uuid, id)));
    say(`live take: ${summary(take)} ms`);
    const sizes = await driver.diskSnapshots(guest.uuid);
    const merge: number[] = [];
    // The oldest link holds the written data: its merge streams it into the next link.
    for (const id of ids.slice(0, -1)) merge.push(await timed(() => driver!.deleteDiskSnapshot(guest.uuid, id)));
    say(`live merge: ${summary(merge)} ms`);
    const revert = await timed(() => driver!.revertDiskSnapshot(guest.uuid, ids.at(-1)!));
    say(`revert to a running guest: ${revert.toFixed(1)} ms`);
    return {
      writeMb,
      links,
      firstLinkMiB: Math.round((sizes[0]?.size ?? 0) / 1024 ** 2),
      createImageCaptureMs: summary(capture),
      liveTakeMs: summary(take),
      liveMergeMs: summary(merge),
      firstMergeMs: merge[0]?.toFixed(1),
      revertMs: revert.toFixed(1),
    };
  } finally {
    await driver?.destroy(guest.uuid).catch(() => undefined);
    await driver?.shutdown();
    await stub.close();
    await rm(work, { recursive: true, force: true });
  }
}

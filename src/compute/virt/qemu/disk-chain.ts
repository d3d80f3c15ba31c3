/**
 * Disk snapshots (a Stratus extension) as external qcow2 snapshots: the root disk is a chain
 * `cached base <- link 1 <- ... <- link n <- active`, each link a frozen qcow2 file holding the blocks
 * written between the previous snapshot and its own, the active overlay the file the guest writes to.
 * guest.json records the links (id and file) and the active file as the root disk's path.
 *
 * Each operation works on the running qemu's block graph over QMP when the guest's qemu runs (paused
 * included), else on the files with qemu-img:
 * - freeze: QMP `blockdev-snapshot-sync` (qemu creates the new overlay and switches the guest's writes
 *   to it in one step, without pausing the guest), or `qemu-img create` of an overlay;
 * - merge a link into its child: QMP `block-stream` into the child with the link's parent as its base
 *   (the child receives the link's blocks it lacks, then reads from the parent), or `qemu-img rebase`
 *   of the child onto the parent, which copies the same blocks; then the link's file is removed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { GuestDisk } from './guest-spec.ts';
import type { QemuImg } from './qemu-img.ts';
import type { QmpClient } from './qmp-client.ts';

/** How often a block job's progress is asked for. */
const JOB_POLL_MS = 50;

/** The format node (not the file node under it) that has `file` open, by its file name. */
async function formatNode(qmp: QmpClient, file: string): Promise<string> {
  const nodes = await qmp.execute('query-named-block-nodes', { flat: true });
  const node = nodes.find((n) => n.file === file && n.drv !== 'file');
  if (!node) throw new Error(`qemu has no block node for ${file}; the guest's disk chain is not what guest.json says`);
  return node['node-name'];
}

/**
 * Freezes the active disk `root` and makes `overlay`, a new qcow2 file on it, the disk the guest
 * writes to. `qmp`: the running guest's monitor; null when no qemu has the disk open.
 */
export async function freezeActive(
  root: GuestDisk,
  overlay: string,
  qmp: QmpClient | null,
  qemuImg: QemuImg,
): Promise<void> {
  if (!qmp) return qemuImg.createOverlay(root.path, root.format, overlay);
  await qmp.execute('blockdev-snapshot-sync', {
    'node-name': await formatNode(qmp, root.path),
    'snapshot-file': overlay,
    // Required with node-name; later operations find nodes by file name, so it only has to be unique.
    'snapshot-node-name': `overlay-${randomBytes(8).toString('hex')}`,
    format: 'qcow2',
    mode: 'absolute-paths',
  });
}

/**
 * Merges `link` into `child` (the next link's file, or the active disk): afterwards `child` reads the
 * same with the link's parent as its backing file, and the link's file is no longer used (the caller
 * removes it).
 */
export async function mergeIntoChild(
  link: string,
  child: string,
  qmp: QmpClient | null,
  qemuImg: QemuImg,
): Promise<void> {
  const parent = await qemuImg.info(link);
  if (!qmp) return qemuImg.rebase(child, parent.backingFilename, parent.backingFormat);
  // A job of a merge a restart interrupted may still be listed, concluded: each job gets a new id.
  const jobId = `merge-${randomUUID()}`;
  await qmp.execute('block-stream', {
    'job-id': jobId,
    device: await formatNode(qmp, child),
    ...(parent.backingFilename ? { 'base-node': await formatNode(qmp, parent.backingFilename) } : {}),
    // Kept once done, so that its error can be read; dismissed below.
    'auto-dismiss': false,
  });
  await waitForJob(qmp, jobId);
}

/** Waits for the block job to end, dismisses it, and throws its error if it failed. */
async function waitForJob(qmp: QmpClient, jobId: string): Promise<void> {
  for (;;) {
    const job = (await qmp.execute('query-jobs', {})).find((j) => j.id === jobId);
    if (!job) throw new Error(`block job ${jobId} disappeared before it concluded`);
    if (job.status === 'concluded') {
      await qmp.execute('job-dismiss', { id: jobId });
      if (job.error) throw new Error(`block job ${jobId} failed: ${job.error}`);
      return;
    }
    await new Promise((r) => setTimeout(r, JOB_POLL_MS));
  }
}

/** The bytes a link's file takes on the host (its allocated blocks, as `du` counts them). */
export async function linkSize(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

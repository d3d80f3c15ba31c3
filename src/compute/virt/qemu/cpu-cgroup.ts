/**
 * A CPU cgroup per guest, for the flavor's `quota:cpu_quota`, `quota:cpu_period` and `quota:cpu_shares`:
 * `<cpu controller>/stratus/instance-<host>-<uuid>`, holding the guest's qemu process (every thread). The
 * host is in the name because two compute hosts on one machine may each run a qemu of the same guest for
 * a while (a live migration between them): each qemu keeps its own limits and its own cgroup to remove.
 *
 * The controller is found by detection: cgroup v1 (a `cpu` hierarchy with cpu.cfs_quota_us, the layout of
 * the machines here) is preferred, then cgroup v2 (a unified hierarchy whose cgroup.controllers lists
 * cpu; cpu.max and cpu.weight). When neither is writable the host runs guests without CPU limits: that
 * is logged once and reported in the node's cpu_info, and builds go on (the flavor's other parts still
 * apply), the same way Nova's libvirt driver cannot enforce what the host does not offer.
 *
 * Semantics follow Nova's libvirt driver, where the three keys become libvirt's `<cputune>`: the quota is
 * per vCPU (libvirt applies it to each vCPU thread), so the guest's cgroup gets quota × vCPUs per period;
 * shares are cgroup v1 shares, converted to v2 weights proportionally (1024 shares = the default weight 100).
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpuQuota } from '../../../common/flavor-quota-specs.ts';

export type CpuCgroupVersion = 'v1' | 'v2';

export interface CpuCgroupController {
  readonly version: CpuCgroupVersion;
  /** The `stratus` parent cgroup in the controller's hierarchy. */
  readonly parent: string;
  /** The compute host whose guests these are (in each guest's cgroup name); absent: the uuid alone. */
  readonly host?: string;
}

const PARENT = 'stratus';

/** A guest whose flavor sets no CPU limits: in its cgroup with the defaults. */
export const NO_CPU_LIMITS: CpuQuota = { quota: null, period: null, shares: null };

/** Finds a writable CPU controller under `root` (normally /sys/fs/cgroup); null with the reason if none. */
export async function detectCpuCgroup(
  root: string,
): Promise<{ controller: CpuCgroupController } | { controller: null; reason: string }> {
  const reasons: string[] = [];
  const v1 = join(root, 'cpu');
  if (await exists(join(v1, 'cpu.cfs_quota_us'))) {
    const problem = await writable(v1);
    if (!problem) return { controller: { version: 'v1', parent: join(v1, PARENT) } };
    reasons.push(`cgroup v1 cpu at ${v1}: ${problem}`);
  } else reasons.push(`no cgroup v1 cpu controller at ${v1}`);
  for (const unified of [root, join(root, 'unified')]) {
    const controllers = await readFile(join(unified, 'cgroup.controllers'), 'utf8').catch(() => null);
    if (controllers === null) continue;
    if (!controllers.split(/\s+/).includes('cpu')) {
      reasons.push(`cgroup v2 at ${unified} has no cpu controller`);
      continue;
    }
    const problem = (await writable(unified)) ?? (await enableCpu(unified));
    if (!problem) return { controller: { version: 'v2', parent: join(unified, PARENT) } };
    reasons.push(`cgroup v2 at ${unified}: ${problem}`);
  }
  return { controller: null, reason: reasons.join('; ') };
}

/** The files and values that set `quota` for a guest of `vcpus` vCPUs, in the order they must be written. */
export function cpuCgroupValues(version: CpuCgroupVersion, quota: CpuQuota, vcpus: number): [string, string][] {
  const total = quota.quota === null ? null : quota.quota * Math.max(1, vcpus);
  if (version === 'v1') {
    const values: [string, string][] = [];
    // The period first: the kernel checks the quota against it.
    if (quota.period !== null) values.push(['cpu.cfs_period_us', String(quota.period)]);
    if (total !== null) values.push(['cpu.cfs_quota_us', String(total)]);
    if (quota.shares !== null) values.push(['cpu.shares', String(quota.shares)]);
    return values;
  }
  const values: [string, string][] = [];
  if (total !== null || quota.period !== null) {
    values.push(['cpu.max', `${total ?? 'max'} ${quota.period ?? 100_000}`]);
  }
  if (quota.shares !== null) values.push(['cpu.weight', String(sharesToWeight(quota.shares))]);
  return values;
}

/**
 * cgroup v1 shares to a v2 weight, proportionally so that the defaults meet (1024 shares = weight 100)
 * and guests keep their ratios to one another; clamped to v2's range 1..10000.
 */
export function sharesToWeight(shares: number): number {
  return Math.min(10_000, Math.max(1, Math.round((shares * 100) / 1024)));
}

export function guestCgroupPath(controller: CpuCgroupController, uuid: string): string {
  return join(controller.parent, controller.host ? `instance-${controller.host}-${uuid}` : `instance-${uuid}`);
}

/** Creates the guest's cgroup, writes its limits, then moves the qemu process (all its threads) into it. */
export async function confineToCpuCgroup(
  controller: CpuCgroupController,
  uuid: string,
  pid: number,
  quota: CpuQuota,
  vcpus: number,
): Promise<string> {
  const path = guestCgroupPath(controller, uuid);
  // The parent is made when a guest first needs it, and removed with the last guest's cgroup.
  await mkdir(path, { recursive: true });
  if (controller.version === 'v2') {
    const problem = await enableCpu(controller.parent);
    if (problem) throw new Error(problem);
  }
  for (const [file, value] of cpuCgroupValues(controller.version, quota, vcpus)) {
    try {
      await writeFile(join(path, file), value);
    } catch (err) {
      throw new Error(`cannot write ${value} to ${join(path, file)}: ${(err as Error).message}`);
    }
  }
  await writeFile(join(path, 'cgroup.procs'), String(pid));
  return path;
}

/**
 * Removes the guest's cgroup once its qemu is gone (a missing one is fine), then the stratus parent if
 * no other guest's cgroup is in it (another compute host on the same machine may still use it).
 */
export async function removeCpuCgroup(controller: CpuCgroupController, uuid: string): Promise<void> {
  await removeGuestCgroup(guestCgroupPath(controller, uuid));
  // A guest started by an older release has its cgroup named by its uuid alone.
  if (controller.host) await removeGuestCgroup(guestCgroupPath({ ...controller, host: undefined }, uuid));
  await rmdir(controller.parent).catch(() => undefined);
}

async function removeGuestCgroup(path: string): Promise<void> {
  // A qemu that has just exited can hold its cgroup until its parent (init) reaps it: EBUSY meanwhile.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(path);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') break;
      if (code !== 'EBUSY' || attempt >= REMOVE_ATTEMPTS) {
        throw new Error(`cannot remove the cgroup ${path}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** 10 s of 50 ms waits for an exited qemu to leave its cgroup. */
const REMOVE_ATTEMPTS = 200;

async function writable(path: string): Promise<string | null> {
  try {
    await access(path, constants.W_OK);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Lets children of `dir` use the cpu controller (cgroup v2 delegates controllers level by level). */
async function enableCpu(dir: string): Promise<string | null> {
  const enabled = await readFile(join(dir, 'cgroup.subtree_control'), 'utf8').catch(() => '');
  if (enabled.split(/\s+/).includes('cpu')) return null;
  try {
    await writeFile(join(dir, 'cgroup.subtree_control'), '+cpu');
    return null;
  } catch (err) {
    return `cannot enable cpu for children of ${dir}: ${(err as Error).message}`;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

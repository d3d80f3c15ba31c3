/**
 * A guest's quality of service, chosen when it is built and kept in its guest.json so that every start
 * (power on, soft reboot, a compute restart) applies the same: the flavor's disk limits on the root disk
 * through QMP block_set_io_throttle, its CPU limits through a cgroup (cpu-cgroup.ts), and the host CPUs
 * its vCPUs may run on: the shared set for ordinary guests, one dedicated CPU per vCPU for guests with
 * hw:cpu_policy=dedicated (vcpu_pin_set / cpu_shared_set / cpu_dedicated_set, see compute/cpu-sets.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatCpuSet } from '../../../common/cpu-set.ts';
import { cpuQuota, diskThrottle, type CpuQuota, type DiskThrottle } from '../../../common/flavor-quota-specs.ts';
import { BuildFailed } from '../../../common/errors.ts';
import type { HostCpuSets } from '../../cpu-sets.ts';
import type { QmpClient } from './qmp-client.ts';

const run = promisify(execFile);

/** Where the guest's threads may run: all on the shared CPUs, or vCPU i alone on cpus[i]. */
export type CpuPinning = { policy: 'shared'; cpus: number[] } | { policy: 'dedicated'; cpus: number[] };

export interface GuestQos {
  diskThrottle: DiskThrottle | null;
  cpuQuota: CpuQuota | null;
  pinning: CpuPinning | null;
}

/**
 * The QoS of a new guest. `taken` are the dedicated CPUs other guests of this host hold. Without CPU
 * sets (the driver was given none) guests are not pinned.
 */
export function chooseGuestQos(
  extraSpecs: Readonly<Record<string, string>>,
  vcpus: number,
  sets: HostCpuSets | null,
  taken: ReadonlySet<number>,
): GuestQos {
  return {
    diskThrottle: diskThrottle(extraSpecs),
    cpuQuota: cpuQuota(extraSpecs),
    pinning: sets ? choosePinning(extraSpecs['hw:cpu_policy'] === 'dedicated', vcpus, sets, taken) : null,
  };
}

function choosePinning(dedicated: boolean, vcpus: number, sets: HostCpuSets, taken: ReadonlySet<number>): CpuPinning {
  if (!dedicated) {
    if (!sets.shared.length) {
      throw new BuildFailed(
        'this host has no shared CPUs (cpu_shared_set) for a guest without hw:cpu_policy=dedicated',
      );
    }
    return { policy: 'shared', cpus: [...sets.shared] };
  }
  const free = sets.dedicated.filter((cpu) => !taken.has(cpu));
  if (free.length < vcpus) {
    throw new BuildFailed(
      `this host has ${free.length} free dedicated CPUs (cpu_dedicated_set ${formatCpuSet(sets.dedicated)}), ` +
        `the guest needs ${vcpus}`,
    );
  }
  return { policy: 'dedicated', cpus: free.slice(0, vcpus) };
}

/** Sets the root disk's limits; the disk is found by its file, whatever qemu named its device. */
export async function applyDiskThrottle(qmp: QmpClient, rootDisk: string, throttle: DiskThrottle): Promise<void> {
  const blocks = await qmp.execute('query-block', {});
  const root = blocks.find((b) => b.inserted?.file === rootDisk);
  if (!root) throw new Error(`qemu shows no block device for the root disk ${rootDisk}`);
  await qmp.execute('block_set_io_throttle', { device: root.device, ...throttle });
}

/**
 * Confines the guest's threads: every thread to the pinning's CPUs, then for dedicated guests each vCPU
 * thread to its own CPU (qemu's emulator threads share the guest's dedicated CPUs).
 */
export async function applyPinning(qmp: QmpClient, pid: number, pinning: CpuPinning): Promise<void> {
  await taskset(['-a', '-p', '-c', formatCpuSet(pinning.cpus), String(pid)]);
  if (pinning.policy !== 'dedicated') return;
  for (const vcpu of await qmp.execute('query-cpus-fast', {})) {
    const cpu = pinning.cpus[vcpu['cpu-index']];
    if (cpu !== undefined) await taskset(['-p', '-c', String(cpu), String(vcpu['thread-id'])]);
  }
}

async function taskset(args: string[]): Promise<void> {
  try {
    await run('taskset', args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`taskset ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

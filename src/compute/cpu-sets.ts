/**
 * Which host CPUs guests may use, from `vcpu_pin_set`, `[compute] cpu_shared_set` and
 * `[compute] cpu_dedicated_set`, with Nova's rules since Train:
 * - shared CPUs (VCPU inventory, overcommitted by cpu_allocation_ratio): vcpu_pin_set when set (the
 *   deprecated option wins, as in Nova, where cpu_shared_set then only places emulator threads), else
 *   cpu_shared_set, else every host CPU unless cpu_dedicated_set is set, in which case none;
 * - dedicated CPUs (PCPU inventory, never overcommitted): cpu_dedicated_set.
 * The sets are what the qemu driver pins guests to; the resource report counts them.
 */
import type { Config } from '../common/config/load-config.ts';
import { formatCpuSet } from '../common/cpu-set.ts';
import { ConfigError } from '../common/errors.ts';

export interface HostCpuSets {
  /** CPUs shared by guests without dedicated CPUs (VCPU). */
  readonly shared: readonly number[];
  /** CPUs each given whole to one vCPU of a guest with hw:cpu_policy=dedicated (PCPU). */
  readonly dedicated: readonly number[];
}

/** The CPU sets of a host with `hostCpus` CPUs (ids 0..hostCpus-1); throws naming the option at fault. */
export function hostCpuSets(config: Config, hostCpus: number): HostCpuSets {
  const pinSet = config.DEFAULT.vcpu_pin_set;
  const { cpu_shared_set: sharedSet, cpu_dedicated_set: dedicatedSet } = config.compute;
  if (pinSet && dedicatedSet) {
    throw new ConfigError(
      '[DEFAULT] vcpu_pin_set cannot be combined with [compute] cpu_dedicated_set: ' +
        'move the shared CPUs of vcpu_pin_set to [compute] cpu_shared_set',
    );
  }
  checkOnHost('[DEFAULT] vcpu_pin_set', pinSet, hostCpus);
  checkOnHost('[compute] cpu_shared_set', sharedSet, hostCpus);
  checkOnHost('[compute] cpu_dedicated_set', dedicatedSet, hostCpus);
  const shared = pinSet ?? sharedSet ?? (dedicatedSet ? [] : Array.from({ length: hostCpus }, (_, i) => i));
  const dedicated = dedicatedSet ?? [];
  const overlap = dedicated.filter((cpu) => shared.includes(cpu));
  if (overlap.length) {
    throw new ConfigError(
      `[compute] cpu_shared_set and [compute] cpu_dedicated_set overlap on CPUs ${formatCpuSet(overlap)}: ` +
        'a CPU is either shared or dedicated',
    );
  }
  return { shared, dedicated };
}

function checkOnHost(option: string, cpus: readonly number[] | null, hostCpus: number): void {
  const missing = (cpus ?? []).filter((cpu) => cpu >= hostCpus);
  if (missing.length) {
    throw new ConfigError(
      `${option}: CPUs ${formatCpuSet(missing)} are not on this host, which has CPUs ${formatCpuSet(
        Array.from({ length: hostCpus }, (_, i) => i),
      )}`,
    );
  }
}

/**
 * The weigher contract, as Nova's: each weigher gives every host a raw weight; raw weights are normalized
 * to 0..1 across the hosts, multiplied by the weigher's multiplier and summed. Highest total wins.
 */
import type { HostState } from '../host-state.ts';
import { free } from '../host-state.ts';
import type { Config } from '../../common/config/load-config.ts';
import { ConfigError } from '../../common/errors.ts';

export interface HostWeigher {
  readonly name: string;
  multiplier(config: Config): number;
  weigh(host: HostState): number;
}

export const RAMWeigher: HostWeigher = {
  name: 'RAMWeigher',
  multiplier: (c) => c.filter_scheduler.ram_weight_multiplier,
  weigh: (host) => free(host, 'MEMORY_MB'),
};

export const CPUWeigher: HostWeigher = {
  name: 'CPUWeigher',
  multiplier: (c) => c.filter_scheduler.cpu_weight_multiplier,
  weigh: (host) => free(host, 'VCPU'),
};

export const DiskWeigher: HostWeigher = {
  name: 'DiskWeigher',
  multiplier: (c) => c.filter_scheduler.disk_weight_multiplier,
  weigh: (host) => free(host, 'DISK_GB'),
};

const WEIGHERS: Record<string, HostWeigher> = Object.fromEntries(
  [RAMWeigher, CPUWeigher, DiskWeigher].map((w) => [w.name, w]),
);

export function loadWeighers(names: readonly string[]): HostWeigher[] {
  return names.map((name) => {
    const weigher = WEIGHERS[name];
    if (!weigher) {
      throw new ConfigError(
        `[filter_scheduler] weight_classes: weigher '${name}' is not implemented; available: ${Object.keys(WEIGHERS).join(', ')}`,
      );
    }
    return weigher;
  });
}

/** Normalized, multiplied and summed weights, in the order of `hosts`. */
export function weighHosts(hosts: readonly HostState[], weighers: readonly HostWeigher[], config: Config): number[] {
  const totals = hosts.map(() => 0);
  for (const weigher of weighers) {
    const multiplier = weigher.multiplier(config);
    if (multiplier === 0) continue;
    const raw = hosts.map((h) => weigher.weigh(h));
    let min = Infinity;
    let max = -Infinity;
    for (const value of raw) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    const range = max - min;
    raw.forEach((value, i) => {
      totals[i]! += multiplier * (range === 0 ? 0 : (value - min) / range);
    });
  }
  return totals;
}

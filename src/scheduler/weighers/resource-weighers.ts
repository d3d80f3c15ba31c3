/** Nova's resource weighers: free RAM, VCPUs and disk; a positive multiplier spreads, a negative one stacks. */
import { free } from '../host-state.ts';
import type { HostWeigher } from './weigher.ts';

export const RAMWeigher: HostWeigher = {
  name: 'RAMWeigher',
  multiplierOption: 'ram_weight_multiplier',
  weigh: (host) => free(host, 'MEMORY_MB'),
  column: (columns) => columns.freeRam,
};

export const CPUWeigher: HostWeigher = {
  name: 'CPUWeigher',
  multiplierOption: 'cpu_weight_multiplier',
  weigh: (host) => free(host, 'VCPU'),
  column: (columns) => columns.freeVcpu,
};

export const DiskWeigher: HostWeigher = {
  name: 'DiskWeigher',
  multiplierOption: 'disk_weight_multiplier',
  weigh: (host) => free(host, 'DISK_GB'),
  column: (columns) => columns.freeDisk,
};

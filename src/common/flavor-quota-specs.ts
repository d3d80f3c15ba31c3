/**
 * The `quota:*` flavor extra specs Stratus applies to guests, with Nova's names and rules (each a
 * non-negative integer, as Nova's extra-spec validators say): disk I/O limits on the root disk, and the
 * guest's CPU bandwidth and weight, and the bandwidth of its network interfaces. One parser for both ends: the API refuses a bad value when it is set,
 * the compute host reads the values of a flavor that predates the check and skips what is unusable.
 */

/** Disk limits, keyed by the `block_set_io_throttle` argument each one sets. */
export const DISK_QUOTA_SPECS = {
  'quota:disk_read_bytes_sec': 'bps_rd',
  'quota:disk_write_bytes_sec': 'bps_wr',
  'quota:disk_total_bytes_sec': 'bps',
  'quota:disk_read_iops_sec': 'iops_rd',
  'quota:disk_write_iops_sec': 'iops_wr',
  'quota:disk_total_iops_sec': 'iops',
} as const;

export const CPU_QUOTA_SPECS = {
  'quota:cpu_quota': 'quota',
  'quota:cpu_period': 'period',
  'quota:cpu_shares': 'shares',
} as const;

/**
 * Network limits per interface, as Nova's libvirt driver reads them: averages and peaks in KB/s (kilobytes),
 * bursts in KB. Inbound is what the guest receives, outbound what it sends.
 */
export const VIF_QUOTA_SPECS = {
  'quota:vif_inbound_average': ['inbound', 'average'],
  'quota:vif_inbound_peak': ['inbound', 'peak'],
  'quota:vif_inbound_burst': ['inbound', 'burst'],
  'quota:vif_outbound_average': ['outbound', 'average'],
  'quota:vif_outbound_peak': ['outbound', 'peak'],
  'quota:vif_outbound_burst': ['outbound', 'burst'],
} as const;

/** One direction's limit; null fields are unset. An average is required for any limit (as in libvirt). */
export interface VifBandwidth {
  averageKBps: number;
  peakKBps: number | null;
  burstKB: number | null;
}

export interface VifQos {
  inbound: VifBandwidth | null;
  outbound: VifBandwidth | null;
}

export type DiskThrottleField = (typeof DISK_QUOTA_SPECS)[keyof typeof DISK_QUOTA_SPECS];
export type DiskThrottle = Record<DiskThrottleField, number>;

export interface CpuQuota {
  /** Microseconds of CPU time per period (all vCPUs together); null: unlimited. */
  quota: number | null;
  /** The period in microseconds; null: the kernel's default. */
  period: number | null;
  /** Relative weight against other guests (cgroup v1 cpu.shares scale); null: the default. */
  shares: number | null;
}

/** The keys this module knows; other `quota:` keys (VMware's) are left to Nova's generic rules. */
const KNOWN = new Set<string>([
  ...Object.keys(DISK_QUOTA_SPECS),
  ...Object.keys(CPU_QUOTA_SPECS),
  ...Object.keys(VIF_QUOTA_SPECS),
]);

/** The problem with `value` for `key`, or null when it is fine (or not a key this module knows). */
export function quotaSpecProblem(key: string, value: string): string | null {
  if (!KNOWN.has(key)) return null;
  if (!/^\s*[+-]?\d+\s*$/.test(value)) return `extra spec '${key}': '${value}' is not an integer`;
  const number = Number(value);
  if (number < 0) return `extra spec '${key}': ${number} is less than the minimum of 0`;
  if (!Number.isSafeInteger(number)) return `extra spec '${key}': ${value} is too large`;
  return null;
}

/** Nova's extra-spec value rules for the keys this module knows; throws nothing, lists the problems. */
export function quotaSpecProblems(specs: Readonly<Record<string, string>>): string[] {
  return Object.entries(specs)
    .map(([key, value]) => quotaSpecProblem(key, value))
    .filter((p): p is string => p !== null);
}

function valueOf(specs: Readonly<Record<string, string>>, key: string): number | null {
  const value = specs[key];
  if (value === undefined || quotaSpecProblem(key, value) !== null) return null;
  return Number(value);
}

/** The disk limits of a flavor (0 = unlimited, QMP's convention), or null when it sets none. */
export function diskThrottle(specs: Readonly<Record<string, string>>): DiskThrottle | null {
  const throttle: DiskThrottle = { bps: 0, bps_rd: 0, bps_wr: 0, iops: 0, iops_rd: 0, iops_wr: 0 };
  let any = false;
  for (const [key, field] of Object.entries(DISK_QUOTA_SPECS)) {
    const value = valueOf(specs, key);
    if (value === null || value === 0) continue;
    throttle[field] = value;
    any = true;
  }
  return any ? throttle : null;
}

/**
 * The CPU limits of a flavor, or null when it sets none. As in Nova's libvirt driver, 0 means "not set"
 * for each key (libvirt ignores a zero tunable).
 */
export function cpuQuota(specs: Readonly<Record<string, string>>): CpuQuota | null {
  const pick = (key: keyof typeof CPU_QUOTA_SPECS) => {
    const value = valueOf(specs, key);
    return value === null || value === 0 ? null : value;
  };
  const quota = { quota: pick('quota:cpu_quota'), period: pick('quota:cpu_period'), shares: pick('quota:cpu_shares') };
  return quota.quota === null && quota.period === null && quota.shares === null ? null : quota;
}

/**
 * The network limits of a flavor for each of its guest's interfaces, or null when it sets none. A direction
 * without a nonzero average is unlimited: libvirt ignores a peak or burst given alone, and so does this.
 */
export function vifQos(specs: Readonly<Record<string, string>>): VifQos | null {
  const direction = (name: 'inbound' | 'outbound'): VifBandwidth | null => {
    const pick = (field: 'average' | 'peak' | 'burst') => {
      const value = valueOf(specs, `quota:vif_${name}_${field}`);
      return value === null || value === 0 ? null : value;
    };
    const average = pick('average');
    return average === null ? null : { averageKBps: average, peakKBps: pick('peak'), burstKB: pick('burst') };
  };
  const qos = { inbound: direction('inbound'), outbound: direction('outbound') };
  return qos.inbound === null && qos.outbound === null ? null : qos;
}

/**
 * A host's attributes by the names Nova's HostState gives them, for the filters that let users and
 * operators name them: JsonFilter's `$free_ram_mb` variables and ComputeCapabilitiesFilter's
 * `capabilities:hypervisor_type` extra specs. Nested values are reached by a path (`cpu_info.arch`,
 * `stats.failed_builds`); JSON text on the way (cpu_info) is parsed, as Nova's capabilities filter does.
 */
import type { HostState } from './host-state.ts';

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/** Attributes that are floats in Nova: Python's str() shows them with a decimal point. */
const FLOATS = new Set(['cpu_allocation_ratio', 'ram_allocation_ratio', 'disk_allocation_ratio']);

const used = (h: HostState, rc: string) => h.usages[rc] ?? 0;
const total = (h: HostState, rc: string) => h.inventories[rc]?.total ?? 0;
const reserved = (h: HostState, rc: string) => h.inventories[rc]?.reserved ?? 0;
/** Disk is held in the storage pools (one per tier): the node's figures are their sums. */
const disk = (h: HostState, figure: (pool: HostState['storagePools'][string]) => number) =>
  Object.values(h.storagePools).reduce((sum, pool) => sum + figure(pool), 0);

const ATTRIBUTES: Record<string, (h: HostState) => AttributeValue> = {
  host: (h) => h.host,
  nodename: (h) => h.nodename,
  hypervisor_hostname: (h) => h.nodename,
  hypervisor_type: (h) => h.hypervisorType,
  hypervisor_version: (h) => h.hypervisorVersion,
  host_ip: (h) => h.hostIp,
  cpu_info: (h) => h.cpuInfo,
  supported_instances: (h) => h.supportedInstances.map((s) => [...s]),
  stats: (h) => ({ ...h.stats }),
  failed_builds: (h) => h.failedBuilds,
  // Physical amounts, as Nova's compute node reports them (the allocation ratios are not applied).
  free_ram_mb: (h) => total(h, 'MEMORY_MB') - reserved(h, 'MEMORY_MB') - used(h, 'MEMORY_MB'),
  total_usable_ram_mb: (h) => total(h, 'MEMORY_MB'),
  free_disk_mb: (h) => disk(h, (p) => p.inventory.total - p.inventory.reserved - p.used) * 1024,
  total_usable_disk_gb: (h) => disk(h, (p) => p.inventory.total),
  vcpus_total: (h) => total(h, 'VCPU'),
  vcpus_used: (h) => used(h, 'VCPU'),
  cpu_allocation_ratio: (h) => h.inventories['VCPU']?.allocation_ratio ?? 0,
  ram_allocation_ratio: (h) => h.inventories['MEMORY_MB']?.allocation_ratio ?? 0,
  disk_allocation_ratio: (h) => Object.values(h.storagePools)[0]?.inventory.allocation_ratio ?? 0,
};

export const ATTRIBUTE_NAMES: readonly string[] = Object.keys(ATTRIBUTES);

const parsedJson = new Map<string, AttributeValue | undefined>();

function parseJson(text: string): AttributeValue | undefined {
  if (!parsedJson.has(text)) {
    let value: AttributeValue | undefined;
    try {
      value = JSON.parse(text) as AttributeValue;
    } catch {
      value = undefined;
    }
    // Few distinct texts exist (one per kind of node); the bound only guards against a pathological fleet.
    if (parsedJson.size > 1000) parsedJson.clear();
    parsedJson.set(text, value);
  }
  return parsedJson.get(text);
}

/**
 * The attribute at `path` (its first part an attribute name, the rest keys into it), or undefined when
 * there is none. A host's `stats` entries also answer by their bare name, as in Nova.
 */
export function hostAttribute(host: HostState, path: readonly string[]): AttributeValue | undefined {
  const [name, ...keys] = path;
  if (name === undefined) return undefined;
  const getter = ATTRIBUTES[name];
  let value: AttributeValue | undefined = getter ? getter(host) : host.stats[name];
  for (const key of keys) {
    if (typeof value === 'string') value = parseJson(value);
    if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = value[key];
  }
  return value ?? undefined;
}

/** Python's str() of a value, which is what Nova matches extra spec requirements against. */
export function pythonStr(value: AttributeValue, name?: string): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number')
    return Number.isInteger(value) && name && FLOATS.has(name) ? value.toFixed(1) : String(value);
  if (typeof value === 'string') return value;
  const repr = (v: AttributeValue): string => (typeof v === 'string' ? `'${v}'` : pythonStr(v));
  if (Array.isArray(value)) return `[${value.map(repr).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `'${k}': ${repr(v)}`)
    .join(', ')}}`;
}

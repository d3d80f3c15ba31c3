/**
 * Flavor extra specs checked as Nova checks them from microversion 2.86: a spec Nova knows must have a
 * value of its format (a boolean, an integer in range, one of a list, a pattern), and a name in a
 * namespace whose specs are all known here (`hw:`, `hw_rng:`, `hw_video:`, `os:`) must be one of them.
 * Names without a namespace, and namespaces of other services or of the operator, are free. On top of
 * Nova's rules, a value Nova takes that Stratus cannot honour is refused too (hw:cpu_policy mixed),
 * since every server created with the flavor would otherwise fail.
 */
import { BadRequest } from '../../../common/errors.ts';

type Rule =
  | { type: 'bool' }
  | { type: 'int'; min?: number; max?: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'pattern'; pattern: string }
  | { type: 'str' };

const BOOL: Rule = { type: 'bool' };
const POSITIVE: Rule = { type: 'int', min: 1 };
const NATURAL: Rule = { type: 'int', min: 0 };
const CPU_SET = '\\^?\\d+((-\\d+)?(,\\^?\\d+(-\\d+)?)?)*';

/** Nova's validators, by the name's regular expression (`.{id}` names take a number). */
const VALIDATORS: readonly [RegExp, Rule][] = [
  ['hw:cpu_realtime', BOOL],
  ['hw:cpu_realtime_mask', { type: 'pattern', pattern: `(\\^)?\\d+((-\\d+)?(,\\^?\\d+(-\\d+)?)?)*` }],
  ['hw:hide_hypervisor_id', BOOL],
  ['hw:cpu_policy', { type: 'enum', values: ['dedicated', 'shared', 'mixed'] }],
  ['hw:cpu_thread_policy', { type: 'enum', values: ['prefer', 'isolate', 'require'] }],
  ['hw:emulator_threads_policy', { type: 'enum', values: ['isolate', 'share'] }],
  ['hw:cpu_dedicated_mask', { type: 'pattern', pattern: CPU_SET }],
  ['hw:mem_page_size', { type: 'pattern', pattern: '(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)' }],
  ['hw:numa_nodes', POSITIVE],
  ['hw:numa_cpus\\.\\d+', { type: 'pattern', pattern: CPU_SET }],
  ['hw:numa_mem\\.\\d+', POSITIVE],
  ['hw:pci_numa_affinity_policy', { type: 'enum', values: ['required', 'preferred', 'legacy', 'socket'] }],
  ['hw:cpu_sockets', POSITIVE],
  ['hw:cpu_cores', POSITIVE],
  ['hw:cpu_threads', POSITIVE],
  // Nova registers the max_cpu_* spelling; its hardware code reads cpu_max_*: both are known.
  ['hw:max_cpu_sockets', POSITIVE],
  ['hw:max_cpu_cores', POSITIVE],
  ['hw:max_cpu_threads', POSITIVE],
  ['hw:cpu_max_sockets', POSITIVE],
  ['hw:cpu_max_cores', POSITIVE],
  ['hw:cpu_max_threads', POSITIVE],
  ['hw:boot_menu', BOOL],
  ['hw:mem_encryption', BOOL],
  ['hw:mem_encryption_model', { type: 'enum', values: ['amd-sev', 'amd-sev-es'] }],
  ['hw:locked_memory', BOOL],
  ['hw:pmem', { type: 'pattern', pattern: '([a-zA-Z0-9_]+(,)?)+' }],
  ['hw:pmu', BOOL],
  ['hw:serial_port_count', NATURAL],
  ['hw:tpm_model', { type: 'enum', values: ['tpm-tis', 'tpm-crb'] }],
  ['hw:tpm_version', { type: 'enum', values: ['1.2', '2.0'] }],
  ['hw:tpm_secret_security', { type: 'enum', values: ['user', 'host', 'deployment'] }],
  ['hw:watchdog_action', { type: 'enum', values: ['none', 'pause', 'poweroff', 'reset', 'disabled'] }],
  ['hw:vif_multiqueue_enabled', BOOL],
  ['hw:viommu_model', { type: 'enum', values: ['intel', 'smmuv3', 'virtio', 'auto'] }],
  ['hw:virtio_packed_ring', BOOL],
  ['hw:sound_model', { type: 'str' }],
  ['hw:usb_model', { type: 'str' }],
  ['hw:redirected_usb_ports', { type: 'int', min: 0, max: 15 }],
  ['hw:ephemeral_encryption', BOOL],
  ['hw:ephemeral_encryption_format', { type: 'enum', values: ['luks', 'plain'] }],
  ['hw_rng:allowed', BOOL],
  ['hw_rng:rate_bytes', NATURAL],
  ['hw_rng:rate_period', NATURAL],
  ['hw_video:ram_max_mb', NATURAL],
  ['os:secure_boot', { type: 'enum', values: ['disabled', 'required'] }],
  ['hide_hypervisor_id', BOOL],
  ['group_policy', { type: 'enum', values: ['isolate', 'none'] }],
].map(([name, rule]) => [new RegExp(`^(?:${name as string})$`), rule as Rule]);

/** Namespaces whose every spec is listed above: another name in them is a mistake. */
const KNOWN_NAMESPACES = new Set(['hw', 'hw_rng', 'hw_video', 'os']);

/** Values Nova takes that Stratus cannot carry out, with what it can. */
const UNSUPPORTED: ReadonlyMap<string, { values: readonly string[]; supported: string }> = new Map([
  ['hw:cpu_policy', { values: ['mixed'], supported: 'shared or dedicated' }],
]);

const TRUE_FALSE = ['1', 't', 'true', 'on', 'y', 'yes', '0', 'f', 'false', 'off', 'n', 'no'];

/** Throws Nova's 400 for the first spec of `specs` that is not valid (microversion 2.86 and later). */
export function validateExtraSpecs(specs: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(specs)) validateExtraSpec(name, value);
}

function validateExtraSpec(name: string, value: string): void {
  const rule = VALIDATORS.find(([pattern]) => pattern.test(name))?.[1];
  if (!rule) {
    const colon = name.indexOf(':');
    if (colon !== -1 && KNOWN_NAMESPACES.has(name.slice(0, colon))) {
      throw new BadRequest(`Validation failed; extra spec '${name}' does not appear to be a valid extra spec.`);
    }
    return;
  }
  checkValue(rule, value);
  const unsupported = UNSUPPORTED.get(name);
  if (unsupported?.values.includes(value)) {
    throw new BadRequest(
      `Validation failed; '${value}' is not supported by Stratus for extra spec '${name}'; use ${unsupported.supported}.`,
    );
  }
}

function checkValue(rule: Rule, value: string): void {
  switch (rule.type) {
    case 'bool':
      if (!TRUE_FALSE.includes(value.trim().toLowerCase())) {
        throw new BadRequest(`Validation failed; '${value}' is not a valid boolean-like value.`);
      }
      return;
    case 'int': {
      if (!/^\s*[-+]?\d+\s*$/.test(value)) {
        throw new BadRequest(`Validation failed; '${value}' is not a valid integer value.`);
      }
      const n = Number(value);
      if (rule.max !== undefined && n > rule.max) {
        throw new BadRequest(`Validation failed; '${value}' is greater than the max value of '${rule.max}'.`);
      }
      if (rule.min !== undefined && n < rule.min) {
        throw new BadRequest(`Validation failed; '${value}' is less than the min value of '${rule.min}'.`);
      }
      return;
    }
    case 'enum':
      if (!rule.values.includes(value)) {
        throw new BadRequest(`Validation failed; '${value}' is not one of: ${rule.values.join(', ')}.`);
      }
      return;
    case 'pattern':
      if (!new RegExp(`^(?:${rule.pattern})$`).test(value)) {
        throw new BadRequest(`Validation failed; '${value}' is not of the format '${rule.pattern}'.`);
      }
      return;
    case 'str':
      return;
  }
}

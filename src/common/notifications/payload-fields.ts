/**
 * Field values as Nova's notification payloads carry them, shared by every payload builder, and
 * FlavorPayload, which both instance payloads (the instance's flavor copy) and flavor.* carry.
 */
import { versionedObject, type VersionedObject } from './notifier.ts';

/** Nova's DateTimeField as notifications carry it: ISO 8601 with a Z, whole seconds; null stays null. */
export function notificationTime(value: string | null): string | null {
  if (value === null) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : `${at.toISOString().slice(0, 19)}Z`;
}

/**
 * The binary a service is known by in Nova's notifications: `stratus-compute` is `nova-compute`, so the
 * consumers written for Nova (which filter on publisher and binary) take Stratus's services as Nova's.
 */
export function novaBinary(binary: string): string {
  return binary.startsWith('stratus-') ? `nova-${binary.slice('stratus-'.length)}` : binary;
}

export interface FlavorFields {
  flavorid: string;
  name: string;
  memory_mb: number;
  vcpus: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  vcpu_weight: number | null;
  disabled: boolean;
  is_public: boolean;
  description: string | null;
}

/**
 * FlavorPayload 1.4. `extraSpecs` and `projects` are null where Nova has not loaded them when it sends
 * (a flavor just created has no extra specs loaded, a deleted one neither).
 */
export function flavorPayload(
  f: FlavorFields,
  extraSpecs: Readonly<Record<string, string>> | null,
  projects: readonly string[] | null,
): VersionedObject {
  return versionedObject('FlavorPayload', '1.4', {
    flavorid: f.flavorid,
    name: f.name,
    root_gb: f.root_gb,
    vcpus: f.vcpus,
    ephemeral_gb: f.ephemeral_gb,
    memory_mb: f.memory_mb,
    swap: f.swap,
    extra_specs: extraSpecs === null ? null : { ...extraSpecs },
    disabled: f.disabled,
    // Nova's FloatField: a whole number still goes out as 1.0 in Python; JSON cannot say so, JS writes 1.
    rxtx_factor: f.rxtx_factor,
    projects: projects === null ? null : [...projects],
    is_public: f.is_public,
    vcpu_weight: f.vcpu_weight,
    description: f.description,
  });
}

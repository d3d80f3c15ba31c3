/**
 * ImagePropertiesFilter (Nova's): an image that names an architecture (`hw_architecture`), a hypervisor
 * type (`img_hv_type`) or a vm mode (`hw_vm_mode`) runs only on a node that reports a supported instance
 * with those values. The legacy names `architecture`, `hypervisor_type` and `vm_mode` count too, and
 * `[filter_scheduler] image_properties_default_architecture` stands in for an image that names no
 * architecture. Values are compared in Nova's canonical spelling (`amd64` is `x86_64`, `pv` is `xen`).
 * An image that names one of those may also require a hypervisor version (`img_hv_requested_version`,
 * e.g. `>=6.0`); as in Nova, that requirement alone asks nothing.
 */
import type { Config } from '../../common/config/load-config.ts';
import type { HostState } from '../host-state.ts';
import type { RequestSpec } from '../../wire/messages/request-spec.ts';
import type { HostFilter } from './filter.ts';
import { perSpec } from './spec-cache.ts';
import { parseVersionRequirement, satisfies } from './version-predicate.ts';

const ARCH_ALIASES: Record<string, string> = {
  i386: 'i686',
  i486: 'i686',
  i586: 'i686',
  x86_32: 'i686',
  x86_32p: 'i686',
  amd64: 'x86_64',
};
const HV_TYPE_ALIASES: Record<string, string> = { xapi: 'xen' };
const VM_MODE_ALIASES: Record<string, string> = { pv: 'xen', hv: 'hvm', baremetal: 'hvm' };

const canonical = (aliases: Record<string, string>) => (name: string | undefined) => {
  if (!name) return null;
  const lower = name.toLowerCase();
  return aliases[lower] ?? lower;
};
const canonicalArch = canonical(ARCH_ALIASES);
const canonicalHvType = canonical(HV_TYPE_ALIASES);
const canonicalVmMode = canonical(VM_MODE_ALIASES);

type Wanted = readonly [arch: string | null, hvType: string | null, vmMode: string | null];

interface ImageAsks {
  wanted: Wanted;
  /** The parsed `img_hv_requested_version`; null when none is given, 'invalid' when it does not parse. */
  version: ReturnType<typeof parseVersionRequirement> | 'invalid';
}

function wantedByImage(properties: Readonly<Record<string, string>>, defaultArch: string | null): Wanted {
  return [
    canonicalArch(properties['hw_architecture'] ?? properties['architecture'] ?? defaultArch ?? undefined),
    canonicalHvType(properties['img_hv_type'] ?? properties['hypervisor_type']),
    canonicalVmMode(properties['hw_vm_mode'] ?? properties['vm_mode']),
  ];
}

function supports(host: HostState, { wanted, version }: ImageAsks): boolean {
  const offers = host.supportedInstances.some((offered) =>
    wanted.every((value, i) => value === null || value === offered[i]?.toLowerCase()),
  );
  // Nova lets a node that reports no version (0) pass; a requirement that does not parse fits no node.
  if (!offers || version === null || !host.hypervisorVersion) return offers;
  return version !== 'invalid' && satisfies(host.hypervisorVersion, version);
}

function imageAsks(properties: Readonly<Record<string, string>>, defaultArch: string | null): ImageAsks {
  const requested = properties['img_hv_requested_version'];
  return {
    wanted: wantedByImage(properties, defaultArch),
    version: requested === undefined ? null : (parseVersionRequirement(requested) ?? 'invalid'),
  };
}

export function imagePropertiesFilter(config: Config): HostFilter {
  const defaultArch = config.filter_scheduler.image_properties_default_architecture;
  // The same request asks the same of every host: work out what it wants once.
  const asksOf = perSpec((spec) => imageAsks(spec.image.properties, defaultArch));
  // An image that asks for nothing runs anywhere; one that asks needs a node that says it can.
  const asksNothing = (spec: RequestSpec) => asksOf(spec).wanted.every((v) => v === null);
  return {
    name: 'ImagePropertiesFilter',
    runOncePerRequest: true,
    appliesTo: ({ spec }) => !asksNothing(spec),
    passes(host, { spec }) {
      if (asksNothing(spec)) return true;
      return supports(host, asksOf(spec));
    },
  };
}

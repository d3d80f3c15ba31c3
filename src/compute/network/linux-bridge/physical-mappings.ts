/** `[linux_bridge] physical_interface_mappings`: which host interface carries each physical network. */
import { ConfigError } from '../../../common/errors.ts';

/** Parses `physnet:iface` pairs; a physical network named twice or a malformed pair is a config error. */
export function parsePhysicalMappings(entries: readonly string[]): Map<string, string> {
  const mappings = new Map<string, string>();
  for (const entry of entries) {
    const match = /^([^:\s]+):([^:\s]+)$/.exec(entry.trim());
    if (!match) {
      throw new ConfigError(`[linux_bridge] physical_interface_mappings: '${entry}' is not physical_network:interface`);
    }
    const [, physnet, iface] = match as unknown as [string, string, string];
    if (mappings.has(physnet)) {
      throw new ConfigError(`[linux_bridge] physical_interface_mappings: '${physnet}' is mapped twice`);
    }
    if (iface.length > 15) {
      throw new ConfigError(`[linux_bridge] physical_interface_mappings: '${iface}' is longer than an interface name`);
    }
    mappings.set(physnet, iface);
  }
  return mappings;
}

/** Picks the compute host's network driver: the fake virt driver's guests have no devices to plug. */
import type { Config } from '../../common/config/load-config.ts';
import { LinuxBridgeDriver } from './linux-bridge/linux-bridge-driver.ts';
import type { MetadataOptions } from './linux-bridge/metadata.ts';
import { parsePhysicalMappings } from './linux-bridge/physical-mappings.ts';
import type { NetworkDriver } from './network-driver.ts';
import { NoopNetworkDriver } from './noop-driver.ts';

export function createNetworkDriver(config: Config): NetworkDriver {
  if (config.DEFAULT.compute_driver === 'fake') return new NoopNetworkDriver();
  return linuxBridgeDriver(config);
}

export function linuxBridgeDriver(config: Config): LinuxBridgeDriver {
  const options = config.linux_bridge;
  return new LinuxBridgeDriver({
    physicalMappings: parsePhysicalMappings(options.physical_interface_mappings),
    namespace: options.namespace,
    stateDirectory: options.state_directory,
    dhcpLeaseSeconds: options.dhcp_lease_duration,
    metadata: metadataOptions(config),
  });
}

/** Where the metadata proxy forwards to, from Neutron's metadata agent options; null when it is off. */
export function metadataOptions(config: Config): MetadataOptions | null {
  const agent = config.metadata_agent;
  if (!agent.enabled) return null;
  const host = agent.nova_metadata_host.includes(':') ? `[${agent.nova_metadata_host}]` : agent.nova_metadata_host;
  return {
    upstream: `${agent.nova_metadata_protocol}://${host}:${agent.nova_metadata_port}`,
    secret: config.neutron.metadata_proxy_shared_secret,
  };
}

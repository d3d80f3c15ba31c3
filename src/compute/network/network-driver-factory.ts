/** Picks the compute host's network driver: the fake virt driver's guests have no devices to plug. */
import type { Config } from '../../common/config/load-config.ts';
import { LinuxBridgeDriver } from './linux-bridge/linux-bridge-driver.ts';
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
  });
}

/**
 * Turns the driver's view of its nodes into the reports the conductor records: totals from the driver,
 * reserved amounts and allocation ratios from this host's configuration (Nova's defaults).
 */
import type { Config } from '../common/config/load-config.ts';
import type { NodeReport } from '../placement/providers.ts';
import type { GuestInfo, NodeResources } from './virt/driver.ts';

export function nodeReports(
  config: Config,
  nodes: readonly NodeResources[],
  guests: readonly GuestInfo[],
): NodeReport[] {
  const d = config.DEFAULT;
  const ratio = (value: number | null, initial: number) => value ?? initial;
  return nodes.map((node) => ({
    nodename: node.nodename,
    hypervisor_type: node.hypervisorType,
    hypervisor_version: node.hypervisorVersion,
    host_ip: node.hostIp,
    cpu_info: node.cpuInfo,
    vcpus: node.vcpus,
    memory_mb: node.memoryMb,
    local_gb: node.localGb,
    running_vms: guests.filter((g) => g.nodename === node.nodename).length,
    inventories: {
      VCPU: inventory(
        node.vcpus,
        Math.min(d.reserved_host_cpus, node.vcpus),
        ratio(d.cpu_allocation_ratio, d.initial_cpu_allocation_ratio),
      ),
      MEMORY_MB: inventory(
        node.memoryMb,
        Math.min(d.reserved_host_memory_mb, node.memoryMb),
        ratio(d.ram_allocation_ratio, d.initial_ram_allocation_ratio),
      ),
      DISK_GB: inventory(
        node.localGb,
        Math.min(Math.ceil(d.reserved_host_disk_mb / 1024), node.localGb),
        ratio(d.disk_allocation_ratio, d.initial_disk_allocation_ratio),
      ),
    },
  }));
}

function inventory(total: number, reserved: number, allocationRatio: number) {
  return { total, reserved, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: allocationRatio };
}

/**
 * Turns the driver's view of its nodes into the reports the conductor records: totals and supported
 * guest kinds from the driver, narrowed by the CPU sets, reserved amounts and allocation ratios from this
 * host's configuration (Nova's defaults), and the node's stats (consecutive failed builds, for the
 * BuildFailureWeigher) and the host's uptime line. The node's own provider gets VCPU (shared CPUs), PCPU (dedicated CPUs) and
 * MEMORY_MB; each storage pool gets a DISK_GB inventory of its own.
 */
import type { Config } from '../common/config/load-config.ts';
import { NodeReportShape, type Inventory, type NodeReport } from '../wire/messages/node-report.ts';
import { hostCpuSets } from './cpu-sets.ts';
import type { GuestInfo, NodeResources } from './virt/driver.ts';

export function nodeReports(
  config: Config,
  nodes: readonly NodeResources[],
  guests: readonly GuestInfo[],
  failedBuilds: ReadonlyMap<string, number> = new Map(),
  uptime: string | null = null,
): NodeReport[] {
  const d = config.DEFAULT;
  const ratio = (value: number | null, initial: number) => value ?? initial;
  const diskRatio = ratio(d.disk_allocation_ratio, d.initial_disk_allocation_ratio);
  const reservedDiskGb = Math.ceil(d.reserved_host_disk_mb / 1024);
  return nodes.map((node) => {
    const cpus = hostCpuSets(config, node.vcpus);
    const inventories: Record<string, Inventory> = {
      MEMORY_MB: inventory(
        node.memoryMb,
        Math.min(d.reserved_host_memory_mb, node.memoryMb),
        ratio(d.ram_allocation_ratio, d.initial_ram_allocation_ratio),
      ),
    };
    // Placement has no empty inventories: a class the host cannot offer is left out.
    if (cpus.shared.length) {
      inventories['VCPU'] = inventory(
        cpus.shared.length,
        Math.min(d.reserved_host_cpus, cpus.shared.length),
        ratio(d.cpu_allocation_ratio, d.initial_cpu_allocation_ratio),
      );
    }
    // Dedicated CPUs are pinned one-to-one: never overcommitted, as in Nova.
    if (cpus.dedicated.length) inventories['PCPU'] = inventory(cpus.dedicated.length, 0, 1);
    const storagePools: Record<string, Inventory> = {};
    // reserved_host_disk_mb is kept free in every pool: each is a filesystem the host also writes to.
    for (const pool of node.storagePools) {
      storagePools[pool.tier] = inventory(pool.totalGb, Math.min(reservedDiskGb, pool.totalGb), diskRatio);
    }
    return NodeReportShape.build({
      nodename: node.nodename,
      hypervisor_type: node.hypervisorType,
      hypervisor_version: node.hypervisorVersion,
      host_ip: node.hostIp,
      cpu_info: node.cpuInfo,
      vcpus: node.vcpus,
      memory_mb: node.memoryMb,
      local_gb: node.localGb,
      running_vms: guests.filter((g) => g.nodename === node.nodename).length,
      supported_instances: node.supportedInstances.map(([arch, hvType, vmMode]) => [arch, hvType, vmMode]),
      // `uptime`: the host's uptime line, read by os-hypervisors as Nova reads it from a node's stats.
      stats: {
        failed_builds: String(failedBuilds.get(node.nodename) ?? 0),
        ...(uptime === null ? {} : { uptime }),
      },
      inventories,
      storage_pools: storagePools,
    });
  });
}

function inventory(total: number, reserved: number, allocationRatio: number): Inventory {
  return { total, reserved, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: allocationRatio };
}

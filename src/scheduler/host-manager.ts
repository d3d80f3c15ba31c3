/**
 * Builds the scheduler's view of the fleet: one HostState per compute node, from the compute nodes,
 * their services' heartbeats and the placement inventories and allocations.
 */
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { listComputeNodes, providerUsages } from '../placement/providers.ts';
import { isServiceUp, listServices } from '../objects/services.ts';
import type { HostState } from './host-state.ts';

export async function loadHostStates(db: Db, config: Config): Promise<HostState[]> {
  const [nodes, services, usages] = await Promise.all([
    listComputeNodes(db),
    listServices(db, { binary: 'stratus-compute' }),
    providerUsages(db),
  ]);
  const serviceById = new Map(services.map((s) => [s.id, s]));
  const now = Date.now();
  const states: HostState[] = [];
  for (const node of nodes) {
    const service = serviceById.get(node.service_id);
    const usage = usages.get(node.uuid);
    if (!service || !usage) continue;
    states.push({
      host: node.host,
      nodename: node.hypervisor_hostname,
      uuid: node.uuid,
      availabilityZone: config.DEFAULT.default_availability_zone,
      serviceUp: isServiceUp(service, config.DEFAULT.service_down_time, now),
      serviceDisabled: service.disabled === 1,
      hypervisorType: node.hypervisor_type,
      inventories: usage.inventories,
      usages: { ...usage.usages },
    });
  }
  return states;
}

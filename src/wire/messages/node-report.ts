/**
 * What a compute host reports of each of its nodes: the schema the conductor checks on the wire, and
 * the TypeScript type derived from it, so the two cannot drift apart.
 */
import { Type, type Static } from 'typebox';
import { definePayload } from '../payload.ts';

export const InventorySchema = Type.Object({
  total: Type.Integer(),
  reserved: Type.Integer(),
  min_unit: Type.Integer(),
  max_unit: Type.Integer(),
  step_size: Type.Integer(),
  allocation_ratio: Type.Number(),
});

/** One resource class of a provider, as Nova's placement describes it. */
export type Inventory = Static<typeof InventorySchema>;

/** A versioned payload (see payload.ts); its revisions, with the contract versions that carry each, go here. */
export const NodeReportShape = definePayload('NodeReport', {
  nodename: Type.String(),
  hypervisor_type: Type.String(),
  hypervisor_version: Type.Integer(),
  host_ip: Type.Union([Type.String(), Type.Null()]),
  cpu_info: Type.String(),
  vcpus: Type.Integer(),
  memory_mb: Type.Integer(),
  local_gb: Type.Integer(),
  running_vms: Type.Integer(),
  /** Inventories of the node's own provider: VCPU, PCPU, MEMORY_MB. */
  inventories: Type.Record(Type.String(), InventorySchema),
  /** The DISK_GB inventory of each storage pool, by tier: each becomes a provider under the node's. */
  storage_pools: Type.Record(Type.String(), InventorySchema),
  /** [architecture, hypervisor type, vm mode] triples the node can run (Nova's supported_instances). */
  supported_instances: Type.Array(Type.Tuple([Type.String(), Type.String(), Type.String()])),
  /** The node's counters, as Nova's compute node stats: `failed_builds` counts consecutive failed builds. */
  stats: Type.Record(Type.String(), Type.String()),
});
export const NodeReportSchema = NodeReportShape.schema;

export type NodeReport = Static<typeof NodeReportSchema>;

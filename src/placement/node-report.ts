/**
 * What a compute host reports of each of its nodes: the schema the conductor checks on the wire, and
 * the TypeScript type derived from it, so the two cannot drift apart.
 */
import { Type, type Static } from 'typebox';

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

export const NodeReportSchema = Type.Object({
  nodename: Type.String(),
  hypervisor_type: Type.String(),
  hypervisor_version: Type.Integer(),
  host_ip: Type.Union([Type.String(), Type.Null()]),
  cpu_info: Type.String(),
  vcpus: Type.Integer(),
  memory_mb: Type.Integer(),
  local_gb: Type.Integer(),
  running_vms: Type.Integer(),
  inventories: Type.Record(Type.String(), InventorySchema),
});

export type NodeReport = Static<typeof NodeReportSchema>;

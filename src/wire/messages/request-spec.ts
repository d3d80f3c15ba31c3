/**
 * Nova's RequestSpec: what a build asks of the scheduler. Shared by the API (which writes it), the
 * conductor (which keeps it for reschedules) and the scheduler (which reads it); also an RPC schema.
 */
import { Type, type Static } from 'typebox';

export const FlavorSpecSchema = Type.Object({
  flavorid: Type.String(),
  name: Type.String(),
  vcpus: Type.Integer(),
  memory_mb: Type.Integer(),
  root_gb: Type.Integer(),
  ephemeral_gb: Type.Integer(),
  swap: Type.Integer(),
  extra_specs: Type.Record(Type.String(), Type.String()),
});

export const RequestSpecSchema = Type.Object({
  project_id: Type.String(),
  user_id: Type.String(),
  flavor: FlavorSpecSchema,
  image: Type.Object({ id: Type.String(), properties: Type.Record(Type.String(), Type.String()) }),
  availability_zone: Type.Union([Type.String(), Type.Null()]),
  scheduler_hints: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
  num_instances: Type.Integer({ minimum: 1 }),
  /**
   * The storage tier the disk must live in, resolved by the API from instance_disk_type, the disk_type
   * hint or the flavor's storage:tier, else [storage] default_tier (migration 0018 mended stored specs
   * written before tiers).
   */
  storage_tier: Type.String(),
  /** [host, node] pairs already tried for this build: RetryFilter keeps them out. */
  ignore_hosts: Type.Array(Type.Tuple([Type.String(), Type.String()])),
});

export type RequestSpec = Static<typeof RequestSpecSchema>;
export type FlavorSpec = Static<typeof FlavorSpecSchema>;

export const SelectionSchema = Type.Object({
  service_host: Type.String(),
  nodename: Type.String(),
  compute_node_uuid: Type.String(),
  availability_zone: Type.String(),
});

/** One chosen (or alternate) destination. */
export type Selection = Static<typeof SelectionSchema>;

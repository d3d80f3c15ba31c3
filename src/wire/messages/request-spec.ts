/**
 * Nova's RequestSpec: what a build asks of the scheduler. Shared by the API (which writes it), the
 * conductor (which keeps it for reschedules) and the scheduler (which reads it); also an RPC schema.
 */
import { Type, type Static } from 'typebox';
import { definePayload } from '../payload.ts';

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

/**
 * A versioned payload (see payload.ts), also stored as JSON in request_specs.spec; its flavor and image
 * are part of its shape. Its revisions, with the contract versions that carry each, go here.
 */
export const RequestSpecShape = definePayload('RequestSpec', {
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
export const RequestSpecSchema = RequestSpecShape.schema;

export type RequestSpec = Static<typeof RequestSpecSchema>;
export type FlavorSpec = Static<typeof FlavorSpecSchema>;

/** A versioned payload (see payload.ts); its revisions, with the contract versions that carry each, go here. */
export const SelectionShape = definePayload('Selection', {
  service_host: Type.String(),
  nodename: Type.String(),
  compute_node_uuid: Type.String(),
  availability_zone: Type.String(),
});
export const SelectionSchema = SelectionShape.schema;

/** One chosen (or alternate) destination. */
export type Selection = Static<typeof SelectionSchema>;

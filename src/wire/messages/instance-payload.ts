/**
 * The instance as it travels to and from compute hosts over RPC. Compute hosts have no database, so
 * every message carries the fields they need; the conductor builds it from the instance row.
 */
import { Type, type Static } from 'typebox';
import { definePayload } from '../payload.ts';
import { FlavorSpecSchema } from './request-spec.ts';

/**
 * A versioned payload (see payload.ts): its flavor is part of its shape. Its revisions, with the contract
 * versions that carry each, go here.
 */
export const InstancePayloadShape = definePayload('InstancePayload', {
  uuid: Type.String(),
  display_name: Type.String(),
  hostname: Type.String(),
  project_id: Type.String(),
  user_id: Type.String(),
  image_ref: Type.String(),
  flavor: FlavorSpecSchema,
  vm_state: Type.String(),
  task_state: Type.Union([Type.String(), Type.Null()]),
  power_state: Type.Integer(),
  host: Type.Union([Type.String(), Type.Null()]),
  node: Type.Union([Type.String(), Type.Null()]),
  launched_at: Type.Union([Type.String(), Type.Null()]),
  /**
   * The storage tier whose pool holds the guest's disk. Compute 1.0 servers also read null (instances
   * created before tiers, which migration 0018 gave the default tier): they accept this narrower shape.
   */
  storage_tier: Type.String(),
  metadata: Type.Record(Type.String(), Type.String()),
});
export const InstancePayloadSchema = InstancePayloadShape.schema;

export type InstancePayload = Static<typeof InstancePayloadSchema>;

/** Fields compute may change on an instance, through the conductor. */
export const InstanceChangesSchema = Type.Object(
  {
    vm_state: Type.Optional(Type.String()),
    task_state: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    power_state: Type.Optional(Type.Integer()),
    launched_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    progress: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export type InstanceChangesPayload = Static<typeof InstanceChangesSchema>;

/**
 * Nova's RequestSpec: what a build asks of the scheduler. Shared by the API (which writes it), the
 * conductor (which keeps it for reschedules) and the scheduler (which reads it); also an RPC schema.
 */
import { Type, type Static } from 'typebox';
import { StratusError } from '../../common/errors.ts';
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
 * Nova's RequestDestination as a create at 2.74 asks for it: the host and/or node the instance must go
 * to. Unlike a forced host, the destination still has to pass every filter.
 */
export const RequestedDestinationSchema = Type.Object({
  host: Type.Union([Type.String(), Type.Null()]),
  node: Type.Union([Type.String(), Type.Null()]),
});
export type RequestedDestination = Static<typeof RequestedDestinationSchema>;

/** A request spec with a destination sent to a peer too old to read one: refused rather than dropped. */
export class DestinationNotCarried extends StratusError {
  override readonly status = 500;
}

/**
 * A versioned payload (see payload.ts), also stored as JSON in request_specs.spec; its flavor and image
 * are part of its shape. Revisions: 1.1 requested_destination (conductor 1.3, scheduler 1.1).
 */
export const RequestSpecShape = definePayload(
  'RequestSpec',
  {
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
    /** 1.1: where the instance must go (2.74's host / hypervisor_hostname); absent: anywhere. */
    requested_destination: Type.Optional(RequestedDestinationSchema),
  },
  [
    {
      version: '1.1',
      carriedBy: { conductor: '1.3', scheduler: '1.1' },
      // A peer of 1.0 would schedule the instance anywhere: better that the build fails and says why.
      backport: ({ requested_destination, ...rest }) => {
        if (requested_destination !== undefined) {
          throw new DestinationNotCarried(
            'A requested destination (host or hypervisor_hostname) cannot be sent to services that read ' +
              'RequestSpec 1.0; upgrade the conductor and scheduler first',
          );
        }
        return rest;
      },
    },
  ],
);
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

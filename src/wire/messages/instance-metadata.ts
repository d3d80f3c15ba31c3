/**
 * What a guest is told about itself (Nova's InstanceMetadata inputs), resolved by whoever holds the
 * database: the metadata service reads it per request, and a config drive is written from the same
 * payload on the guest's compute host, which has no database. Everything here is plain data: the
 * builder in src/guest-metadata/ turns it into the OpenStack and EC2 trees without any lookup.
 */
import { Type, type Static } from 'typebox';
import { definePayload } from '../payload.ts';
import { NetworkInfoSchema } from './network-info.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** A key pair as meta_data.json's `keys` shows it. */
export const GuestKeySchema = Type.Object(
  {
    name: Type.String(),
    /** ssh or x509. */
    type: Type.String(),
    /** The public key (or certificate), as stored. */
    data: Type.String(),
  },
  { additionalProperties: false },
);

/** One entry of meta_data.json's `devices` (Newton): a tagged NIC or disk, with where the guest finds it. */
export const GuestDeviceSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('nic'), Type.Literal('disk')]),
    bus: Type.String(),
    address: Type.String(),
    mac: Type.Optional(Type.String()),
    serial: Type.Optional(Type.String()),
    path: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

/** The versioned payload (see payload.ts). Its revisions, with the contract versions that carry each, go here. */
export const InstanceMetadataShape = definePayload('InstanceMetadata', {
  uuid: Type.String(),
  /** The server's name (display_name). */
  name: Type.String(),
  /** The host name the guest gives itself: the instance's hostname plus `.[api] dhcp_domain` when set. */
  hostname: Type.String(),
  launch_index: Type.Integer({ minimum: 0 }),
  availability_zone: Nullable(Type.String()),
  project_id: Type.String(),
  reservation_id: Type.String(),
  /** The flavor's name (EC2 instance-type). */
  instance_type: Type.String(),
  /** The server's metadata (`meta`), as the user set it. */
  meta: Type.Record(Type.String(), Type.String()),
  /** The instance's key pair (Nova keeps one), or none. */
  keys: Type.Array(GuestKeySchema),
  /** user_data as stored: base64, or null without any. */
  user_data: Nullable(Type.String()),
  /** The admin password in clear, for a config drive only (Nova never serves it over HTTP). */
  admin_pass: Nullable(Type.String()),
  /** The encrypted password the guest posted ('' when none), served at openstack/<v>/password. */
  password: Type.String(),
  /** The guest's ports, in NIC order. */
  network_info: NetworkInfoSchema,
  /** Names of the security groups of the instance's ports (EC2 security-groups). */
  security_groups: Type.Array(Type.String()),
  /** EC2 ids: `i-%08x` and `ami-%08x`. */
  ec2_instance_id: Type.String(),
  ec2_ami_id: Type.String(),
  /** EC2 block-device-mapping: ami, root, ephemeral0, swap ... to device names. */
  block_device_mapping: Type.Record(Type.String(), Type.String()),
  devices: Type.Array(GuestDeviceSchema),
  /** Host CPUs pinned to the guest (Victoria's dedicated_cpus). */
  dedicated_cpus: Type.Array(Type.Integer({ minimum: 0 })),
  /** `[api] vendordata_providers` StaticJSON's document, or null when that provider is off. */
  vendor_data: Nullable(Type.Record(Type.String(), Type.Unknown())),
  /** When the instance was created (ISO 8601). */
  created_at: Type.String(),
});
export const InstanceMetadataSchema = InstanceMetadataShape.schema;
export type InstanceMetadata = Static<typeof InstanceMetadataSchema>;
export type GuestKey = Static<typeof GuestKeySchema>;
export type GuestDevice = Static<typeof GuestDeviceSchema>;

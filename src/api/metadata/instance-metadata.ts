/**
 * Reads what the metadata service tells a guest (the InstanceMetadata payload) from the database: the
 * instance and its metadata, its ports as the datapath sees them, the names of their security groups.
 * Also finds the instance that holds a fixed IP, for requests identified by their source address.
 */
import type { Config } from '../../common/config/load-config.ts';
import type { Db } from '../../common/db/database.ts';
import { findInstance, type Instance } from '../../objects/instances.ts';
import { serverPassword } from '../../objects/server-password.ts';
import { buildNetworkInfo, instancePortIds } from '../../network/network-info.ts';
import { InstanceMetadataShape, type InstanceMetadata } from '../../wire/messages/instance-metadata.ts';

/** What the service resolves once at start-up rather than per instance. */
export interface MetadataSettings {
  dhcpDomain: string;
  defaultAvailabilityZone: string;
  /** StaticJSON's document, null when that provider is off. */
  vendorData: Record<string, unknown> | null;
}

export function metadataSettings(config: Config, vendorData: Record<string, unknown> | null): MetadataSettings {
  return {
    dhcpDomain: config.api.dhcp_domain,
    defaultAvailabilityZone: config.DEFAULT.default_availability_zone,
    vendorData,
  };
}

/** The payload of a live instance, null when there is none (or it is deleted). */
export async function loadInstanceMetadata(
  db: Db,
  uuid: string,
  settings: MetadataSettings,
  /** For a config drive: the admin password goes in too (never for the HTTP service). */
  options: { adminPass?: boolean } = {},
): Promise<InstanceMetadata | null> {
  const instance = await findInstance(db, uuid);
  if (!instance) return null;
  const portIds = await instancePortIds(db, uuid);
  const [networkInfo, securityGroups, password] = await Promise.all([
    // A guest is shown its addresses, not its security group rules.
    buildNetworkInfo(db, portIds, { securityRules: false }),
    securityGroupNames(db, portIds),
    serverPassword(db, uuid).catch(() => ''),
  ]);
  return InstanceMetadataShape.build({
    uuid,
    name: instance.display_name,
    hostname: settings.dhcpDomain ? `${instance.hostname}.${settings.dhcpDomain}` : instance.hostname,
    launch_index: instance.launch_index,
    availability_zone: instance.availability_zone ?? settings.defaultAvailabilityZone,
    project_id: instance.project_id,
    reservation_id: instance.reservation_id,
    instance_type: instance.flavor.name,
    meta: { ...instance.metadata },
    keys:
      instance.key_name && instance.key_data
        ? [{ name: instance.key_name, type: instance.key_type ?? 'ssh', data: instance.key_data }]
        : [],
    user_data: instance.user_data,
    // As Nova: the admin password goes on a config drive only, never over HTTP.
    admin_pass: options.adminPass ? (instance.admin_pass ?? null) : null,
    password,
    network_info: networkInfo,
    security_groups: securityGroups,
    ec2_instance_id: `i-${hex8(instance.id)}`,
    ec2_ami_id: `ami-${hex8(imageNumber(instance.image_ref))}`,
    block_device_mapping: blockDeviceMapping(instance),
    // Stratus records no device tags nor host CPU pinning where the service can read them.
    devices: [],
    dedicated_cpus: [],
    vendor_data: settings.vendorData,
    created_at: String(instance.created_at),
  });
}

async function securityGroupNames(db: Db, portIds: readonly string[]): Promise<string[]> {
  if (!portIds.length) return [];
  const rows = await db
    .selectFrom('security_group_port_bindings as b')
    .innerJoin('security_groups as g', 'g.id', 'b.security_group_id')
    .select('g.name')
    .where('b.port_id', 'in', [...portIds])
    .orderBy('g.name')
    .execute();
  return [...new Set(rows.map((r) => r.name))];
}

/**
 * The live instance whose port holds `address`, as Nova finds a fixed IP's instance; null when none or
 * several do (overlapping subnets: the address alone cannot say which guest asks).
 */
export async function instanceByFixedIp(db: Db, address: string): Promise<string | null> {
  const rows = await db
    .selectFrom('ip_allocations as a')
    .innerJoin('ports as p', 'p.id', 'a.port_id')
    .innerJoin('instances as i', 'i.uuid', 'p.device_id')
    .select('i.uuid')
    .where('a.ip_address', '=', address)
    .where('p.device_owner', 'like', 'compute:%')
    .where('i.deleted', '=', 0)
    .execute();
  const uuids = [...new Set(rows.map((r) => r.uuid))];
  return uuids.length === 1 ? uuids[0]! : null;
}

/** Whether `address` is a fixed IP of one of the instance's ports. */
export function holdsAddress(metadata: InstanceMetadata, address: string): boolean {
  return metadata.network_info.some((vif) => vif.fixed_ips.some((ip) => ip.ip_address === address));
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/**
 * EC2's number of an image. Nova keeps a table mapping each image uuid to a counter; Stratus derives it
 * from the uuid's first 32 bits instead, which is stable for the image across guests and releases.
 */
function imageNumber(imageRef: string): number {
  const hex = imageRef.replace(/-/g, '').slice(0, 8);
  return /^[0-9a-f]{8}$/i.test(hex) ? parseInt(hex, 16) : 0;
}

/** EC2's block-device-mapping of the disks the flavor gives (the virt driver's order: root, ephemeral, swap). */
function blockDeviceMapping(instance: Instance): Record<string, string> {
  const mapping: Record<string, string> = { ami: 'vda', root: '/dev/vda' };
  let next = 'b'.charCodeAt(0);
  if (instance.flavor.ephemeral_gb > 0) mapping['ephemeral0'] = `/dev/vd${String.fromCharCode(next++)}`;
  if (instance.flavor.swap > 0) mapping['swap'] = `/dev/vd${String.fromCharCode(next)}`;
  return mapping;
}

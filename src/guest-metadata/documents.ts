/**
 * The documents of one metadata version, as Nova's InstanceMetadata builds them: EC2's meta-data tree
 * (a nested dictionary, printed as listings and leaves, or written whole as JSON on a config drive) and
 * OpenStack's meta_data.json, vendor_data.json, vendor_data2.json and network_data.json. Pure functions
 * of the InstanceMetadata payload: no database, no HTTP.
 */
import type { InstanceMetadata } from '../wire/messages/instance-metadata.ts';
import { ec2Addresses, networkData } from './network-data.ts';
import { pythonJsonDumps } from './python-json.ts';
import {
  atLeast,
  EC2_VERSIONS,
  GRIZZLY,
  LIBERTY,
  NEWTON_ONE,
  OPENSTACK_VERSIONS,
  VICTORIA,
  type Ec2Version,
  type OpenstackVersion,
} from './versions.ts';

/** A node of EC2's tree: a dictionary is a directory; `_name` is how its parent lists it. */
export type Ec2Node = string | number | null | readonly string[] | { readonly [key: string]: Ec2Node };

/**
 * EC2's meta-data of `version` (not `latest`). `address` is where the request came from: local-ipv4
 * when the guest has no fixed IPv4 address (null on a config drive).
 */
export function ec2MetaData(
  input: InstanceMetadata,
  version: Ec2Version,
  address: string | null,
): Record<string, Ec2Node> {
  const since = (required: Ec2Version) => atLeast(version, required, EC2_VERSIONS);
  const { fixedIpv4, floating } = ec2Addresses(input.network_info);
  const meta: Record<string, Ec2Node> = {
    'ami-id': input.ec2_ami_id,
    'ami-launch-index': input.launch_index,
    // Nova's placeholder, unchanged since EC2's bundles: there is no manifest.
    'ami-manifest-path': 'FIXME',
    'instance-id': input.ec2_instance_id,
    hostname: input.hostname,
    'local-ipv4': fixedIpv4[0] || address,
    'reservation-id': input.reservation_id,
    'security-groups': input.security_groups,
  };
  const key = input.keys[0];
  if (key) meta['public-keys'] = { '0': { _name: `0=${key.name}`, 'openssh-key': key.data } };
  if (since('2007-01-19')) {
    meta['local-hostname'] = input.hostname;
    meta['public-hostname'] = input.hostname;
    meta['public-ipv4'] = floating[0] ?? '';
  }
  if (since('2007-08-29')) meta['instance-type'] = input.instance_type;
  if (since('2007-12-15')) meta['block-device-mapping'] = input.block_device_mapping;
  if (since('2008-02-01')) meta['placement'] = { 'availability-zone': input.availability_zone };
  if (since('2008-09-01')) meta['instance-action'] = 'none';
  return meta;
}

/** meta_data.json of `version` (not `latest`); `randomSeed` is base64 of 512 random bytes (Grizzly on). */
export function metaDataJson(input: InstanceMetadata, version: OpenstackVersion, randomSeed: string): string {
  const since = (required: OpenstackVersion) => atLeast(version, required, OPENSTACK_VERSIONS);
  const doc: Record<string, unknown> = { uuid: input.uuid };
  if (Object.keys(input.meta).length) doc['meta'] = input.meta;
  // Nova's extra_md: only a config drive is given the password; the metadata service never is.
  if (input.admin_pass !== null) doc['admin_pass'] = input.admin_pass;
  const key = input.keys[0];
  if (key) {
    doc['public_keys'] = { [key.name]: key.data };
    doc['keys'] = input.keys.map((k) => ({ name: k.name, type: k.type, data: k.data }));
  }
  doc['hostname'] = input.hostname;
  doc['name'] = input.name;
  doc['launch_index'] = input.launch_index;
  doc['availability_zone'] = input.availability_zone;
  if (since(GRIZZLY)) doc['random_seed'] = randomSeed;
  if (since(LIBERTY)) doc['project_id'] = input.project_id;
  if (since(NEWTON_ONE)) doc['devices'] = input.devices;
  if (since(VICTORIA)) doc['dedicated_cpus'] = input.dedicated_cpus;
  return pythonJsonDumps(doc);
}

/** vendor_data.json: StaticJSON's document; null when that provider is off (Nova then answers 404). */
export function vendorDataJson(input: InstanceMetadata): string | null {
  return input.vendor_data === null ? null : pythonJsonDumps(input.vendor_data);
}

/** vendor_data2.json: each provider's document under its name; StaticJSON's is `static`. */
export function vendorData2Json(input: InstanceMetadata): string {
  return pythonJsonDumps(input.vendor_data === null ? {} : { static: input.vendor_data });
}

export function networkDataJson(input: InstanceMetadata): string {
  return pythonJsonDumps(networkData(input.network_info) ?? {});
}

/** user_data decoded from its stored base64; null without any. */
export function userData(input: InstanceMetadata): Buffer | null {
  return input.user_data === null ? null : Buffer.from(input.user_data, 'base64');
}

/**
 * The files of a config drive (Nova's metadata_for_config_drive), from the same documents the metadata
 * service serves: `ec2/<version>/meta-data.json` (EC2's tree as one JSON document) and `user-data`, and
 * `openstack/<version>/` meta_data.json, user_data, vendor_data.json, network_data.json and
 * vendor_data2.json, for every version and `latest`. No password file: the guest posts that to the
 * metadata service. The config drive writer puts these paths on an ISO 9660 volume labelled config-2.
 */
import { randomBytes } from 'node:crypto';
import type { InstanceMetadata } from '../wire/messages/instance-metadata.ts';
import { ec2MetaData, metaDataJson, networkDataJson, userData, vendorData2Json, vendorDataJson } from './documents.ts';
import { pythonJsonDumps } from './python-json.ts';
import {
  atLeast,
  CONFIG_DRIVE_SKIP_VERSIONS,
  EC2_VERSIONS,
  HAVANA,
  LIBERTY,
  NEWTON_TWO,
  OPENSTACK_VERSIONS,
} from './versions.ts';

export interface ConfigDriveOptions {
  /** EC2 versions left out (`[api] config_drive_skip_versions`; Nova's default skips all before 2009-04-04). */
  skipVersions?: readonly string[];
  random?: (size: number) => Buffer;
}

/** Relative paths (no leading slash) to file contents. */
export function configDriveFiles(input: InstanceMetadata, options: ConfigDriveOptions = {}): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const skip = options.skipVersions ?? CONFIG_DRIVE_SKIP_VERSIONS;
  const random = options.random ?? randomBytes;
  const ud = userData(input);
  for (const version of [...EC2_VERSIONS, 'latest'] as const) {
    if (skip.includes(version)) continue;
    if (ud) files.set(`ec2/${version}/user-data`, ud);
    const meta = ec2MetaData(input, version === 'latest' ? EC2_VERSIONS[EC2_VERSIONS.length - 1]! : version, null);
    // The listing name of the key pair has no place in a JSON document.
    const key = input.keys[0];
    if (key) meta['public-keys'] = { '0': { 'openssh-key': key.data } };
    files.set(`ec2/${version}/meta-data.json`, Buffer.from(pythonJsonDumps(meta)));
  }
  const all = [...OPENSTACK_VERSIONS, 'latest'];
  const vendorData = vendorDataJson(input);
  for (const version of all) {
    const resolved = version === 'latest' ? OPENSTACK_VERSIONS[OPENSTACK_VERSIONS.length - 1]! : version;
    const dir = `openstack/${version}`;
    const seed = random(512).toString('base64');
    files.set(
      `${dir}/meta_data.json`,
      Buffer.from(metaDataJson(input, resolved as (typeof OPENSTACK_VERSIONS)[number], seed)),
    );
    if (ud) files.set(`${dir}/user_data`, ud);
    if (atLeast(version, HAVANA, all) && vendorData !== null)
      files.set(`${dir}/vendor_data.json`, Buffer.from(vendorData));
    if (atLeast(version, LIBERTY, all)) files.set(`${dir}/network_data.json`, Buffer.from(networkDataJson(input)));
    if (atLeast(version, NEWTON_TWO, all)) files.set(`${dir}/vendor_data2.json`, Buffer.from(vendorData2Json(input)));
  }
  return files;
}

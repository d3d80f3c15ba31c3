/**
 * The files of a guest's config drive, from the payload the conductor (a build) or the API (a rebuild)
 * resolved: the same openstack/ and ec2/ trees the metadata service serves (src/guest-metadata/). The
 * virt driver writes them onto a volume labelled config-2.
 */
import { configDriveFiles } from '../guest-metadata/index.ts';
import type { InstanceMetadata } from '../wire/messages/instance-metadata.ts';
import type { ConfigDriveFiles } from './virt/driver.ts';

export function configDriveContents(metadata: InstanceMetadata | undefined): ConfigDriveFiles | undefined {
  return metadata ? configDriveFiles(metadata) : undefined;
}

/**
 * What a guest is told about itself, built from the InstanceMetadata payload (src/wire/) with no database
 * and no HTTP: the metadata service serves the tree, a compute host writes the config drive's files.
 * Imports only common/ and wire/, so compute hosts may use it.
 */
export { buildMetadataTree, isPasswordPath, treePath, type MetadataFile, type MetadataTree } from './metadata-tree.ts';
export { configDriveFiles, type ConfigDriveOptions } from './config-drive-files.ts';
export { networkData, type NetworkData } from './network-data.ts';

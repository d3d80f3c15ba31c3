/**
 * Where a guest's files live. Each guest has a state directory under `instances_path` (its launch
 * description, QMP socket, pidfile and console log) and a disk directory, chosen by `diskDirectory` alone:
 * the one place that decides where a guest's disks go (the storage pool of its tier).
 */
import { join } from 'node:path';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import { poolDirectory, type StoragePoolConfig } from '../../storage-pools.ts';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;

export interface GuestPaths {
  directory: string;
  spec: string;
  qmpSocket: string;
  /** The QEMU guest agent's channel (guest-agent.ts), for guests whose image asks for the agent. */
  agentSocket: string;
  pidfile: string;
  consoleLog: string;
  /** The state a suspend saved (its memory and devices), read back by resume. */
  savedState: string;
  /** The config drive (Nova's disk.config), beside the guest's state rather than its disks. */
  configDrive: string;
}

export function guestPaths(instancesPath: string, uuid: string): GuestPaths {
  const directory = join(instancesPath, uuid);
  const paths = {
    directory,
    spec: join(directory, 'guest.json'),
    qmpSocket: join(directory, 'qmp.sock'),
    // As long as qmp.sock, so the length check below holds for both.
    agentSocket: join(directory, 'qga.sock'),
    pidfile: join(directory, 'qemu.pid'),
    consoleLog: join(directory, 'console.log'),
    savedState: join(directory, 'suspended.state'),
    configDrive: join(directory, 'disk.config'),
  };
  if (Buffer.byteLength(paths.qmpSocket) > MAX_SOCKET_PATH) {
    throw new Error(
      `instances_path ${instancesPath} is too long for a unix socket path (${paths.qmpSocket}); ` +
        'choose a shorter [DEFAULT] instances_path',
    );
  }
  return paths;
}

/**
 * The directory of the instance's disks: <the directory of its tier's pool>/<uuid> (`[storage] pools`;
 * by default one pool in `[DEFAULT] instances_path`). Throws when this host has no pool of that tier.
 */
export function diskDirectory(
  pools: readonly StoragePoolConfig[],
  instance: Pick<InstancePayload, 'uuid' | 'storage_tier'>,
): string {
  return join(poolDirectory(pools, instance.storage_tier), instance.uuid);
}

/**
 * The conductor's side of a server's networking (Nova's allocate_for_instance and
 * deallocate_for_instance, in-process against the network service's tables): before a build is cast to
 * a host, the instance's ports are made (for each requested network) or taken (the user's ports) and
 * bound to that host; a reschedule binds them to the next host; build failure and delete release them:
 * the ports made here are deleted, the user's are unbound (Nova's preserve_on_delete).
 */
import type { Db } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { buildNetworkInfo, networkInfoOfAddedPorts, type RemoteGroupRules } from '../network/network-info.ts';
import type { AddedPort } from '../network/ports.ts';
import { groupsOfPorts } from '../network/port-change-scope.ts';
import {
  bindPort,
  clearPortHost,
  createInstancePort,
  deleteInstancePort,
  unbindPort,
  type PortBinding,
} from '../network/server-ports.ts';
import { appendNic, forgetNics, instanceNics, setNicPort, type InstanceNic } from '../objects/instance-networks.ts';
import type { NetworkInfo } from '../wire/messages/network-info.ts';

const log = getLogger('conductor.network');

export interface AllocationTarget {
  uuid: string;
  project_id: string;
  availability_zone: string | null;
}

/** Nova's device_owner for a server's ports: `compute:<availability zone>`. */
export function computeDeviceOwner(zone: string | null): string {
  return `compute:${zone ?? 'nova'}`;
}

/** What allocateForHost did: the guest's NetworkInfo, and the groups its new ports joined. */
export interface HostAllocation {
  networkInfo: NetworkInfo;
  /**
   * The security groups of the ports made here: their members changed (member-notices.ts). Ports that
   * were only bound again kept their groups and addresses, so they change no group's members.
   */
  joinedGroups: string[];
}

/**
 * Makes or binds every NIC's port for `host` and answers the guest's NetworkInfo, its rules naming remote
 * groups as `remoteGroups` says (network-info.ts `remoteGroupsFor` the compute client it is sent
 * through). Idempotent: a NIC whose port exists (a reschedule, a message delivered twice) is only bound
 * again.
 */
export async function allocateForHost(
  db: Db,
  instance: AllocationTarget,
  host: string,
  remoteGroups: RemoteGroupRules,
  /** The instance's NICs, when the caller read them already. */
  known?: InstanceNic[],
): Promise<HostAllocation> {
  const binding: PortBinding = {
    deviceId: instance.uuid,
    deviceOwner: computeDeviceOwner(instance.availability_zone),
    hostId: host,
  };
  const nics = known ?? (await instanceNics(db, instance.uuid));
  const portIds: string[] = [];
  const made: AddedPort[] = [];
  for (const nic of nics) {
    if (nic.port_id !== null) {
      await bindPort(db, nic.port_id, binding);
      portIds.push(nic.port_id);
      continue;
    }
    const port = await createInstancePort(
      db,
      {
        projectId: instance.project_id,
        networkId: nic.network_id!,
        fixedIp: nic.fixed_ip,
        securityGroups: nic.security_groups,
      },
      binding,
    );
    await setNicPort(db, instance.uuid, nic.position, port.row.id);
    portIds.push(port.row.id);
    made.push(port);
  }
  // A first build makes every port: its NetworkInfo comes from what was written, not read back.
  const networkInfo =
    made.length === portIds.length
      ? await networkInfoOfAddedPorts(db, made, { remoteGroups })
      : await buildNetworkInfo(db, portIds, { remoteGroups });
  return { networkInfo, joinedGroups: [...new Set(made.flatMap((p) => p.securityGroups))] };
}

/** The guest's NetworkInfo as its ports are now (no change made), remote groups as `remoteGroups` says. */
export async function currentNetworkInfo(db: Db, uuid: string, remoteGroups: RemoteGroupRules): Promise<NetworkInfo> {
  const nics = await instanceNics(db, uuid);
  return buildNetworkInfo(
    db,
    nics.flatMap((n) => (n.port_id !== null ? [n.port_id] : [])),
    { remoteGroups },
  );
}

/**
 * Unbinds the instance's ports from the host it left with no new one (shelve offload): they stay the
 * server's, with no binding:host_id, until an unshelve binds them to the host it lands on.
 */
export async function unbindFromHost(db: Db, uuid: string): Promise<void> {
  for (const nic of await instanceNics(db, uuid)) {
    if (nic.port_id !== null) await clearPortHost(db, nic.port_id);
  }
}

/**
 * Releases the instance's ports: deletes those made for it, unbinds the user's, and forgets its NICs.
 * Idempotent (delete and a failed build may both come here). Answers the security groups the deleted
 * ports were members of (their members changed: member-notices.ts).
 */
export async function releaseInstancePorts(db: Db, uuid: string): Promise<string[]> {
  const nics = await instanceNics(db, uuid);
  const deleted = nics.flatMap((n) => (n.port_id !== null && !n.preserve_on_delete ? [n.port_id] : []));
  // Ports bound to the instance that its NICs do not name (a write lost between making a port and
  // recording it): made for it, so deleted.
  const strays = (await db.selectFrom('ports').select('id').where('device_id', '=', uuid).execute())
    .map((p) => p.id)
    .filter((id) => !nics.some((n) => n.port_id === id));
  const groups = await groupsOfPorts(db, [...deleted, ...strays]);
  for (const nic of nics) {
    if (nic.port_id === null) continue;
    if (nic.preserve_on_delete) await unbindPort(db, nic.port_id);
    else await deleteInstancePort(db, nic.port_id);
    log.debug({ instance: uuid, port: nic.port_id, kept: nic.preserve_on_delete }, 'released port');
  }
  for (const stray of strays) await deleteInstancePort(db, stray);
  await forgetNics(db, uuid);
  return groups;
}

/** What an interface attach asks for: the user's port, or a new port on a network (with an address). */
export type InterfaceRequest =
  | { portId: string; tag: string | null }
  | { networkId: string; fixedIp: string | null; tag: string | null; securityGroups: readonly string[] };

/**
 * Binds the user's port, or makes one, for an interface attached to a server on `host`, and records
 * the NIC after the server's others. Returns the port's id (releaseInterface takes it back).
 */
export async function allocateInterface(
  db: Db,
  instance: AllocationTarget,
  host: string,
  request: InterfaceRequest,
): Promise<string> {
  const binding: PortBinding = {
    deviceId: instance.uuid,
    deviceOwner: computeDeviceOwner(instance.availability_zone),
    hostId: host,
  };
  if ('portId' in request) {
    await bindPort(db, request.portId, binding);
    await appendNic(db, instance.uuid, {
      network_id: null,
      fixed_ip: null,
      port_id: request.portId,
      tag: request.tag,
      security_groups: [],
      preserve_on_delete: true,
    });
    return request.portId;
  }
  const { row } = await createInstancePort(
    db,
    {
      projectId: instance.project_id,
      networkId: request.networkId,
      fixedIp: request.fixedIp,
      securityGroups: request.securityGroups,
    },
    binding,
  );
  const portId = row.id;
  await appendNic(db, instance.uuid, {
    network_id: request.networkId,
    fixed_ip: request.fixedIp,
    port_id: portId,
    tag: request.tag,
    security_groups: request.securityGroups,
    preserve_on_delete: false,
  });
  return portId;
}

/**
 * Releases one port of a server (a detached interface): deleted if made for it, else unbound. Answers
 * the groups the port left by its delete (none when it was only unbound).
 */
export async function releaseInterface(db: Db, uuid: string, portId: string): Promise<string[]> {
  const nic = (await instanceNics(db, uuid)).find((n) => n.port_id === portId);
  let groups: string[] = [];
  if (nic?.preserve_on_delete) await unbindPort(db, portId);
  else {
    groups = await groupsOfPorts(db, [portId]);
    await deleteInstancePort(db, portId);
  }
  await forgetNics(db, uuid, portId);
  return groups;
}

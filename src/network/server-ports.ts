/**
 * The ports of servers: what the compute side (the API's checks and the conductor's allocation) asks of
 * the network service, in-process on the same database, through the network service's own port
 * functions (ports.ts: IP allocation, MACs, the port quota, the default security group). They run with
 * the service's authority for the server's project: the compute API checked what the user may use.
 */
import type { Db } from '../common/db/database.ts';
import { adminContext, type RequestContext } from '../common/context.ts';
import type { PortsTable } from '../common/db/schema.ts';
import { canonicalIp } from './ip.ts';
import { ensureDefaultSecurityGroup } from './default-security-group.ts';
import { addPort, addPorts, deletePort, updatePort, type AddedPort } from './ports.ts';
import { quotaLimits, quotaUsage } from './quotas.ts';
import { PortNotFound } from './errors.ts';

/** Where a port is plugged: Nova's device_id, device_owner and binding:host_id. */
export interface PortBinding {
  deviceId: string;
  deviceOwner: string;
  hostId: string;
}

export interface NewInstancePort {
  projectId: string;
  networkId: string;
  /** A requested fixed address; null for the first free one. */
  fixedIp: string | null;
  /** Security group ids, or the name `default` for the project's default group (made if missing). */
  securityGroups: readonly string[];
}

/** The network service's authority, acting for the server's project. */
function serviceContext(projectId: string | null = null): RequestContext {
  return { ...adminContext(), projectId };
}

/**
 * Makes a port on the network, with its addresses and security groups, already bound: what was written
 * (ports.ts AddedPort). A request for the `default` group alone is a port with no groups named, which
 * Neutron gives the project's default group (as Nova leaves `default` out of the ports it makes); on a
 * network without port security, such a port then has no groups rather than failing.
 */
export async function createInstancePort(db: Db, request: NewInstancePort, binding: PortBinding): Promise<AddedPort> {
  const groups = await portGroups(db, request);
  return addPort(db, serviceContext(request.projectId), {
    project_id: request.projectId,
    network_id: request.networkId,
    ...(request.fixedIp !== null ? { fixed_ips: [{ ip_address: request.fixedIp }] } : {}),
    ...(groups !== undefined ? { security_groups: groups } : {}),
    device_id: binding.deviceId,
    device_owner: binding.deviceOwner,
    binding_host_id: binding.hostId,
  });
}

/**
 * createInstancePort for several ports that differ only in their binding, made together (ports.ts
 * addPorts): all or nothing. Answers them in the order of `bindings`.
 */
export async function createInstancePorts(
  db: Db,
  request: Omit<NewInstancePort, 'fixedIp'>,
  bindings: readonly PortBinding[],
): Promise<AddedPort[]> {
  const groups = await portGroups(db, request);
  return addPorts(db, serviceContext(request.projectId), {
    project_id: request.projectId,
    network_id: request.networkId,
    ...(groups !== undefined ? { security_groups: groups } : {}),
    devices: bindings.map((b) => ({ device_id: b.deviceId, device_owner: b.deviceOwner, binding_host_id: b.hostId })),
  });
}

/** A server port's group ids; undefined for `default` alone (the port create gives it). */
async function portGroups(db: Db, request: Pick<NewInstancePort, 'projectId' | 'securityGroups'>) {
  const named = [...new Set(request.securityGroups)];
  if (named.length === 1 && named[0] === 'default') return undefined;
  const ids = await Promise.all(
    named.map((g) => (g === 'default' ? ensureDefaultSecurityGroup(db, request.projectId) : Promise.resolve(g))),
  );
  return [...new Set(ids)];
}

/** Binds an existing port to the instance on its host (Nova's port update at build). */
export async function bindPort(db: Db, portId: string, binding: PortBinding): Promise<void> {
  await updatePort(db, serviceContext(), portId, {
    device_id: binding.deviceId,
    device_owner: binding.deviceOwner,
    binding_host_id: binding.hostId,
  });
}

/** Takes a user's port back from an instance: no device, no owner, no host (Nova's unbind on delete). */
export async function unbindPort(db: Db, portId: string): Promise<void> {
  try {
    await bindPort(db, portId, { deviceId: '', deviceOwner: '', hostId: '' });
  } catch (err) {
    // The user deleted their port meanwhile: nothing to unbind.
    if (!(err instanceof PortNotFound)) throw err;
  }
}

/**
 * Unplugs a server's port from its host while the server keeps it (an offloaded shelved server, as
 * Nova unbinds its ports then): binding:host_id cleared, device kept. A port deleted meanwhile is fine.
 */
export async function clearPortHost(db: Db, portId: string): Promise<void> {
  try {
    await updatePort(db, serviceContext(), portId, { binding_host_id: '' });
  } catch (err) {
    if (!(err instanceof PortNotFound)) throw err;
  }
}

/**
 * Deletes a port made for a server (a floating IP on it is unmapped with it, in ports.ts, as Neutron
 * does). Idempotent.
 */
export async function deleteInstancePort(db: Db, portId: string): Promise<void> {
  try {
    await deletePort(db, serviceContext(), portId, { viaApi: false });
  } catch (err) {
    if (!(err instanceof PortNotFound)) throw err;
  }
}

export type PortRow = Pick<
  PortsTable,
  'id' | 'project_id' | 'network_id' | 'device_id' | 'device_owner' | 'mac_address'
>;

export async function findPort(db: Db, portId: string): Promise<PortRow | undefined> {
  return db
    .selectFrom('ports')
    .select(['id', 'project_id', 'network_id', 'device_id', 'device_owner', 'mac_address'])
    .where('id', '=', portId)
    .executeTakeFirst();
}

/** The fixed addresses of a port. */
export async function portAddresses(db: Db, portId: string): Promise<{ subnet_id: string; ip_address: string }[]> {
  return db.selectFrom('ip_allocations').select(['subnet_id', 'ip_address']).where('port_id', '=', portId).execute();
}

/** The port on `networkId` that holds `address`, if any (the API's "fixed IP already in use" check). */
export async function portHoldingAddress(
  db: Db,
  networkId: string,
  address: string,
): Promise<{ port_id: string; device_id: string } | undefined> {
  const canonical = canonicalIp(address);
  if (canonical === null) return undefined;
  return db
    .selectFrom('ip_allocations')
    .innerJoin('ports', 'ports.id', 'ip_allocations.port_id')
    .select(['ip_allocations.port_id', 'ports.device_id'])
    .where('ip_allocations.network_id', '=', networkId)
    .where('ip_allocations.ip_address', '=', canonical)
    .executeTakeFirst();
}

/** Security group ids by name or id among the project's groups; a name the project lacks is absent. */
export async function securityGroupsByName(
  db: Db,
  projectId: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  if (!names.length) return new Map();
  const rows = await db
    .selectFrom('security_groups')
    .select(['id', 'name'])
    .where('project_id', '=', projectId)
    .where((eb) => eb.or([eb('name', 'in', [...names]), eb('id', 'in', [...names])]))
    .execute();
  const found = new Map<string, string>();
  for (const name of names) {
    const row = rows.find((r) => r.id === name) ?? rows.find((r) => r.name === name);
    if (row) found.set(name, row.id);
  }
  return found;
}

/** Replaces a port's security groups (addSecurityGroup/removeSecurityGroup on its server). */
export async function setPortSecurityGroups(db: Db, portId: string, groupIds: readonly string[]): Promise<void> {
  await updatePort(db, serviceContext(), portId, { security_groups: [...groupIds] });
}

/** How many more ports the project may have (null: no limit), for Nova's port quota check at create. */
export async function portsLeft(db: Db, projectId: string): Promise<{ limit: number; used: number } | null> {
  const limit = (await quotaLimits(db, projectId)).port;
  if (limit < 0) return null;
  return { limit, used: await quotaUsage(db, projectId, 'port') };
}

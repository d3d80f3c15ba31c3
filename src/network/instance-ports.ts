/**
 * The ports of servers: what the compute side (the API's checks and the conductor's allocation) asks of
 * the network service, in-process on the same database. Making a port takes its addresses in the same
 * transaction (IP allocation: the first free address of the subnet's pools; the (network, address) key
 * of ip_allocations makes two racing allocations of one address impossible, and the loser tries again).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../common/db/database.ts';
import { now, type PortsTable } from '../common/db/schema.ts';
import { isUniqueViolation } from '../common/db/unique.ts';
import { canonicalAddress, cidrContains, formatAddress, parseAddress } from './addresses.ts';
import { IpAddressAlreadyAllocated, IpAddressGenerationFailure, InvalidIpForNetwork } from './errors.ts';

/** Where a port is plugged: Nova's device_id, device_owner and binding:host_id. */
export interface PortBinding {
  deviceId: string;
  deviceOwner: string;
  hostId: string;
}

export interface NewInstancePort {
  projectId: string;
  networkId: string;
  /** A requested fixed address (canonical or not); null for the first free one. */
  fixedIp: string | null;
  securityGroupIds: readonly string[];
}

/** How many times a port's make-up is retried when a racing writer took the address or MAC it picked. */
const ALLOCATION_ATTEMPTS = 20;

/** Neutron's default base_mac prefix (fa:16:3e): the rest is random. */
function randomMac(): string {
  const tail = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'));
  return ['fa', '16', '3e', ...tail].join(':');
}

/** Makes a port on the network, with its addresses and security groups, already bound. Returns its id. */
export async function createInstancePort(db: Db, request: NewInstancePort, binding: PortBinding): Promise<string> {
  const network = await db
    .selectFrom('networks')
    .select(['id', 'port_security_enabled'])
    .where('id', '=', request.networkId)
    .executeTakeFirstOrThrow();
  const fixed = request.fixedIp === null ? null : canonicalAddress(request.fixedIp);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        const id = randomUUID();
        const stamp = now();
        await trx
          .insertInto('ports')
          .values({
            id,
            project_id: request.projectId,
            network_id: network.id,
            name: '',
            description: '',
            mac_address: randomMac(),
            admin_state_up: 1,
            status: binding.hostId ? 'ACTIVE' : 'DOWN',
            device_id: binding.deviceId,
            device_owner: binding.deviceOwner,
            port_security_enabled: network.port_security_enabled,
            binding_host_id: binding.hostId,
            binding_vif_type: binding.hostId ? 'bridge' : 'unbound',
            binding_vnic_type: 'normal',
            binding_profile: '{}',
            binding_vif_details: '{}',
            revision_number: 1,
            created_at: stamp,
            updated_at: stamp,
          })
          .execute();
        await allocateAddress(trx, network.id, id, fixed);
        if (network.port_security_enabled && request.securityGroupIds.length) {
          await trx
            .insertInto('security_group_port_bindings')
            .values(request.securityGroupIds.map((security_group_id) => ({ port_id: id, security_group_id })))
            .execute();
        }
        return id;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      if (fixed !== null) {
        throw new IpAddressAlreadyAllocated(
          `IP address ${fixed} already allocated in subnet ${await subnetOf(db, network.id, fixed)}`,
        );
      }
      if (attempt >= ALLOCATION_ATTEMPTS) throw err;
    }
  }
}

async function subnetOf(db: Db, networkId: string, address: string): Promise<string> {
  const parsed = parseAddress(address)!;
  const subnets = await db.selectFrom('subnets').select(['id', 'cidr']).where('network_id', '=', networkId).execute();
  return subnets.find((s) => cidrContains(s.cidr, parsed))?.id ?? '';
}

/**
 * Gives the port an address: the requested one (it must lie in one of the network's subnets), or the
 * first free address of the pools of the network's first subnet that has one (IPv4 subnets first).
 */
async function allocateAddress(trx: Db, networkId: string, portId: string, fixed: string | null): Promise<void> {
  const subnets = await trx
    .selectFrom('subnets')
    .select(['id', 'cidr', 'ip_version'])
    .where('network_id', '=', networkId)
    .orderBy('ip_version')
    .orderBy('created_at')
    .execute();
  if (fixed !== null) {
    const parsed = parseAddress(fixed)!;
    const subnet = subnets.find((s) => cidrContains(s.cidr, parsed));
    if (!subnet) {
      throw new InvalidIpForNetwork(`IP address ${fixed} is not a valid IP for any of the subnets on the specified network.`);
    }
    await trx
      .insertInto('ip_allocations')
      .values({ network_id: networkId, ip_address: fixed, subnet_id: subnet.id, port_id: portId })
      .execute();
    return;
  }
  for (const subnet of subnets) {
    const address = await firstFreeAddress(trx, subnet.id);
    if (address === null) continue;
    await trx
      .insertInto('ip_allocations')
      .values({ network_id: networkId, ip_address: address, subnet_id: subnet.id, port_id: portId })
      .execute();
    return;
  }
  if (subnets.length) {
    throw new IpAddressGenerationFailure(`No more IP addresses available on network ${networkId}.`);
  }
}

/** The lowest address of the subnet's pools that no port holds; null when the pools are full. */
async function firstFreeAddress(trx: Db, subnetId: string): Promise<string | null> {
  const [pools, taken] = await Promise.all([
    trx.selectFrom('subnet_allocation_pools').select(['first_ip', 'last_ip']).where('subnet_id', '=', subnetId).execute(),
    trx.selectFrom('ip_allocations').select('ip_address').where('subnet_id', '=', subnetId).execute(),
  ]);
  const used = new Set(taken.map((t) => t.ip_address));
  const ranges = pools
    .map((p) => ({ first: parseAddress(p.first_ip)!, last: parseAddress(p.last_ip)! }))
    .sort((a, b) => (a.first.value < b.first.value ? -1 : 1));
  for (const { first, last } of ranges) {
    // At most |used| + 1 candidates of a range can be examined before a free one is found.
    for (let value = first.value; value <= last.value; value++) {
      const text = formatAddress({ version: first.version, value });
      if (!used.has(text)) return text;
    }
  }
  return null;
}

/** Binds an existing port to the instance on its host (Nova's port update at build). */
export async function bindPort(db: Db, portId: string, binding: PortBinding): Promise<void> {
  await db
    .updateTable('ports')
    .set((eb) => ({
      device_id: binding.deviceId,
      device_owner: binding.deviceOwner,
      binding_host_id: binding.hostId,
      binding_vif_type: binding.hostId ? 'bridge' : 'unbound',
      status: binding.hostId ? 'ACTIVE' : 'DOWN',
      updated_at: now(),
      revision_number: eb('revision_number', '+', 1),
    }))
    .where('id', '=', portId)
    .execute();
}

/** Takes a user's port back from an instance: no device, no owner, no host (Nova's unbind on delete). */
export async function unbindPort(db: Db, portId: string): Promise<void> {
  await bindPort(db, portId, { deviceId: '', deviceOwner: '', hostId: '' });
}

/** Deletes a port with everything that hangs on it; a floating IP on it is disassociated, as in Neutron. */
export async function deletePort(db: Db, portId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('ip_allocations').where('port_id', '=', portId).execute();
    await trx.deleteFrom('security_group_port_bindings').where('port_id', '=', portId).execute();
    await trx.deleteFrom('port_allowed_address_pairs').where('port_id', '=', portId).execute();
    await trx.deleteFrom('network_tags').where('resource_id', '=', portId).execute();
    await trx
      .updateTable('floating_ips')
      .set({ fixed_port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', updated_at: now() })
      .where('fixed_port_id', '=', portId)
      .execute();
    await trx.deleteFrom('ports').where('id', '=', portId).execute();
  });
}

export type PortRow = Pick<PortsTable, 'id' | 'project_id' | 'network_id' | 'device_id' | 'device_owner' | 'mac_address'>;

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
  const canonical = canonicalAddress(address);
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
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('security_group_port_bindings').where('port_id', '=', portId).execute();
    if (groupIds.length) {
      await trx
        .insertInto('security_group_port_bindings')
        .values(groupIds.map((security_group_id) => ({ port_id: portId, security_group_id })))
        .execute();
    }
    await trx
      .updateTable('ports')
      .set((eb) => ({ updated_at: now(), revision_number: eb('revision_number', '+', 1) }))
      .where('id', '=', portId)
      .execute();
  });
}

/** How many ports the project holds (the port quota's usage). */
export async function countProjectPorts(db: Db, projectId: string): Promise<number> {
  const row = await db
    .selectFrom('ports')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Neutron's default `quota_port` where the project has no limit of its own. */
export const DEFAULT_PORT_QUOTA = 500;

/** The project's port limit (-1: unlimited). */
export async function projectPortLimit(db: Db, projectId: string): Promise<number> {
  const row = await db
    .selectFrom('network_quotas')
    .select('hard_limit')
    .where('project_id', '=', projectId)
    .where('resource', '=', 'port')
    .executeTakeFirst();
  return row?.hard_limit ?? DEFAULT_PORT_QUOTA;
}

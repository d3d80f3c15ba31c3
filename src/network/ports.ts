/**
 * Ports: create, read, update and delete, with their addresses (ipam.ts), MAC (unique per network),
 * security groups (the project's `default` group unless told otherwise), allowed address pairs and
 * binding. A create is one transaction: quota, port row, addresses, groups, tags; when an address it chose
 * itself was taken by a racing process, the whole transaction runs again.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now, type NetworksTable, type PortsTable, type Schema, type SubnetsTable } from '../common/db/schema.ts';
import { isUniqueViolation } from '../common/db/unique.ts';
import { declareError, StratusError } from '../common/errors.ts';
import { canSeeNetwork, requireNetworkPolicy } from './access.ts';
import { ensureDefaultSecurityGroup } from './default-security-group.ts';
import { invalidAttribute, MacAddressInUse, networkNotFound, portNotFound, securityGroupNotFound } from './errors.ts';
import {
  allocateAutoAddresses,
  allocatePortAddresses,
  AllocationRaceLost,
  type FixedIp,
  type FixedIpRequest,
} from './ipam.ts';
import { canonicalIp, parseCidr, parseIp } from './ip.ts';
import { canonicalMac, generateMac } from './mac.ts';
import { bindingFor } from './port-binding.ts';
import { PORT_DOWN } from './port-status.ts';
import { disassociatePortFloatingIps } from './floating-ips.ts';
import { checkQuota, NETWORK_QUOTA_DEFAULTS } from './quotas.ts';
import { standardAttributes } from './standard-attributes.ts';
import { insertTags } from './tags.ts';
import { inTransaction } from './transaction.ts';

const PortSecurityAndIPRequiredForSecurityGroups = declareError(
  class PortSecurityAndIPRequiredForSecurityGroups extends StratusError {
    override readonly status = 400;
  },
);
const ServicePortInUse = declareError(
  class ServicePortInUse extends StratusError {
    override readonly status = 409;
  },
);

/** Owners whose ports only their service (the router, the floating IP) may delete. */
export const SERVICE_PORT_OWNERS = [
  'network:router_interface',
  'network:router_interface_distributed',
  'network:router_gateway',
  'network:floatingip',
  'network:ha_router_replicated_interface',
];

/** How often a create runs again after losing an address race before giving up. */
const ALLOCATION_ATTEMPTS = 20;

export interface AddressPair {
  ip_address: string;
  mac_address: string;
}

export interface PortRecord {
  id: string;
  name: string;
  network_id: string;
  tenant_id: string;
  project_id: string;
  mac_address: string;
  admin_state_up: boolean;
  status: string;
  device_id: string;
  device_owner: string;
  fixed_ips: FixedIp[];
  allowed_address_pairs: AddressPair[];
  security_groups: string[];
  port_security_enabled: boolean;
  'binding:host_id': string;
  'binding:vif_type': string;
  'binding:vif_details': Record<string, unknown>;
  'binding:vnic_type': string;
  'binding:profile': Record<string, unknown>;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface PortCreate {
  project_id: string;
  network_id: string;
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  mac_address?: string;
  fixed_ips?: FixedIpRequest[];
  device_id?: string;
  device_owner?: string;
  security_groups?: string[];
  port_security_enabled?: boolean;
  allowed_address_pairs?: { ip_address: string; mac_address?: string }[];
  binding_host_id?: string;
  binding_vnic_type?: string;
  binding_profile?: Record<string, unknown>;
  /** Neutron tags, checked by the caller (tags.ts), written with the port. */
  tags?: string[];
}

export type PortUpdate = Partial<Omit<PortCreate, 'project_id' | 'network_id' | 'tags'>>;

export async function createPort(db: Db, ctx: RequestContext, request: PortCreate): Promise<PortRecord> {
  return getPort(db, ctx, (await addPort(db, ctx, request)).row.id);
}

/** What addPort made, as written: for callers that describe the port without reading it back. */
export interface AddedPort {
  row: PortsTable;
  network: NetworksTable;
  /** The network's subnets as the create read them, in Neutron's order. */
  subnets: SubnetsTable[];
  fixedIps: FixedIp[];
  securityGroups: string[];
}

/**
 * createPort without reading the port back: what was written. For callers that want only the port
 * (the conductor making a server's ports builds their NetworkInfo from it).
 */
export async function addPort(db: Db, ctx: RequestContext, request: PortCreate): Promise<AddedPort> {
  const { network, defaultGroup, portLimit } = await portTarget(db, ctx, request.project_id, request.network_id);
  // On a network shared with it, a project takes what it is given: Neutron's network-owner rules.
  const onNetwork = { project_id: network.project_id };
  if (request.mac_address !== undefined) requireNetworkPolicy(ctx, 'create_port:mac_address', onNetwork);
  if (request.fixed_ips?.some((f) => f.ip_address !== undefined)) {
    requireNetworkPolicy(ctx, 'create_port:fixed_ips:ip_address', onNetwork);
  }
  const portSecurity = request.port_security_enabled ?? network.port_security_enabled === 1;
  const groups = await resolveSecurityGroups(
    db,
    ctx,
    { projectId: request.project_id, defaultGroup },
    portSecurity,
    request.security_groups,
  );
  const givenMac = request.mac_address !== undefined ? checkMac(request.mac_address) : undefined;
  const pairs = checkAddressPairs(request.allowed_address_pairs ?? []);
  const id = randomUUID();
  return retryingRaces(async () => {
    const mac = givenMac ?? generateMac();
    const row = newPortRow(request, id, mac, portSecurity, now());
    const { allocated, subnets } = await inTransaction(db, async (trx) => {
      // Ports of routers' gateways and of floating IPs belong to no project and count against none.
      if (request.project_id !== '') await checkQuota(trx, request.project_id, 'port', 1, portLimit);
      await insertPortRow(trx, row, givenMac !== undefined);
      const addresses = await allocatePortAddresses(trx, row, request.fixed_ips);
      // A new port has no groups or pairs to replace.
      await insertGroups(trx, [id], groups);
      await insertPairs(trx, id, mac, pairs);
      await insertTags(trx, id, request.tags ?? []);
      return addresses;
    });
    return { row, network, subnets, fixedIps: allocated, securityGroups: groups };
  });
}

/** Ports made together: one project, network and set of groups, each bound to its device and host. */
export interface PortBatch {
  project_id: string;
  network_id: string;
  /** As a create's: absent for the project's default group. */
  security_groups?: string[];
  devices: readonly Required<Pick<PortCreate, 'device_id' | 'device_owner' | 'binding_host_id'>>[];
}

/**
 * Makes the batch's ports, their addresses chosen by IPAM, in one transaction: one quota check, and
 * one insert each for the ports, their addresses and their groups, where addPort makes each port with
 * a transaction of its own (the conductor's bursts of builds: build-port-batches.ts). All or nothing:
 * when one port cannot be had (the quota, the subnets full), none is made and this throws; the caller
 * then makes them one by one to learn which. Answers the ports in the order of `devices`.
 */
export async function addPorts(db: Db, ctx: RequestContext, batch: PortBatch): Promise<AddedPort[]> {
  const { network, defaultGroup, portLimit } = await portTarget(db, ctx, batch.project_id, batch.network_id);
  const portSecurity = network.port_security_enabled === 1;
  const groups = await resolveSecurityGroups(
    db,
    ctx,
    { projectId: batch.project_id, defaultGroup },
    portSecurity,
    batch.security_groups,
  );
  const ids = batch.devices.map(() => randomUUID());
  return retryingRaces(async () => {
    const stamp = now();
    const rows = batch.devices.map((device, i) =>
      newPortRow({ ...batch, ...device }, ids[i]!, generateMac(), portSecurity, stamp),
    );
    const { allocated, subnets } = await inTransaction(db, async (trx) => {
      if (batch.project_id !== '') await checkQuota(trx, batch.project_id, 'port', rows.length, portLimit);
      try {
        await trx.insertInto('ports').values(rows).execute();
      } catch (err) {
        throw isUniqueViolation(err) ? new GeneratedMacTaken() : err;
      }
      const addresses = await allocateAutoAddresses(trx, network.id, ids);
      await insertGroups(trx, ids, groups);
      return addresses;
    });
    return rows.map((row) => ({ row, network, subnets, fixedIps: allocated.get(row.id)!, securityGroups: groups }));
  });
}

/**
 * Runs a port create again when an address it chose itself, or a MAC it generated, was taken
 * meanwhile (each try is a transaction of its own), up to ALLOCATION_ATTEMPTS tries.
 */
async function retryingRaces<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      const retry = err instanceof AllocationRaceLost || err instanceof GeneratedMacTaken;
      if (!retry || attempt >= ALLOCATION_ATTEMPTS) throw err;
    }
  }
}

/** A new port's row, down (port-status.ts) until its host plugs it. */
function newPortRow(
  request: Omit<PortCreate, 'mac_address' | 'fixed_ips' | 'security_groups' | 'allowed_address_pairs' | 'tags'>,
  id: string,
  mac: string,
  portSecurity: boolean,
  stamp: string,
): PortsTable {
  const vnicType = request.binding_vnic_type ?? 'normal';
  return {
    id,
    project_id: request.project_id,
    network_id: request.network_id,
    name: request.name ?? '',
    description: request.description ?? '',
    mac_address: mac,
    admin_state_up: request.admin_state_up === false ? 0 : 1,
    status: PORT_DOWN,
    device_id: request.device_id ?? '',
    device_owner: request.device_owner ?? '',
    port_security_enabled: portSecurity ? 1 : 0,
    binding_vnic_type: vnicType,
    binding_profile: JSON.stringify(request.binding_profile ?? {}),
    ...bindingFor(request.binding_host_id ?? '', vnicType),
    revision_number: 1,
    created_at: stamp,
    updated_at: stamp,
  };
}

/**
 * The network a port create is on (the caller must see it), with what the create needs of its project:
 * the default group's id (null before the project's first port) and the port quota's limit. One read
 * rather than three: each is a statement of every server's port.
 */
async function portTarget(db: Db, ctx: RequestContext, projectId: string, networkId: string) {
  const found = await db
    .selectFrom('networks')
    .selectAll('networks')
    .select((eb) => [
      eb
        .selectFrom('default_security_groups')
        .select('security_group_id')
        .where('project_id', '=', projectId)
        .as('default_group'),
      eb
        .selectFrom('network_quotas')
        .select('hard_limit')
        .where('project_id', '=', projectId)
        .where('resource', '=', 'port')
        .as('port_limit'),
    ])
    .where('networks.id', '=', networkId)
    .executeTakeFirst();
  if (!found || !canSeeNetwork(ctx, found)) throw networkNotFound(networkId);
  const { default_group: defaultGroup, port_limit: portLimit, ...network } = found;
  return { network, defaultGroup, portLimit: portLimit ?? NETWORK_QUOTA_DEFAULTS.port };
}

class GeneratedMacTaken extends Error {}

async function insertPortRow(trx: Transaction<Schema>, row: PortsTable, macGiven: boolean): Promise<void> {
  if (macGiven) await checkMacFree(trx, row);
  try {
    await trx.insertInto('ports').values(row).execute();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    if (macGiven) throw macInUse(row);
    throw new GeneratedMacTaken();
  }
}

function macInUse(row: PortsTable): StratusError {
  return new MacAddressInUse(
    `Unable to complete operation for network ${row.network_id}. The mac address ${row.mac_address} is in use.`,
  );
}

async function checkMacFree(trx: Transaction<Schema>, row: PortsTable): Promise<void> {
  const holder = await trx
    .selectFrom('ports')
    .select('id')
    .where('network_id', '=', row.network_id)
    .where('mac_address', '=', row.mac_address)
    .where('id', '!=', row.id)
    .executeTakeFirst();
  if (holder) throw macInUse(row);
}

function checkMac(text: string): string {
  const mac = canonicalMac(text);
  if (!mac) throw invalidAttribute('mac_address', `'${text}' is not a valid MAC address`);
  return mac;
}

function checkAddressPairs(pairs: { ip_address: string; mac_address?: string }[]): AddressPair[] {
  return pairs.map((pair) => {
    const ip = typeof pair?.ip_address === 'string' ? pair.ip_address : '';
    const cidr = ip.includes('/') ? parseCidr(ip) : null;
    const canonical = cidr ? ip : canonicalIp(ip);
    if (!canonical) {
      throw invalidAttribute('allowed_address_pairs', `'${ip}' is not a valid IP address or CIDR`);
    }
    const mac = pair.mac_address === undefined ? '' : checkMac(pair.mac_address);
    return { ip_address: canonical, mac_address: mac };
  });
}

/**
 * The groups a port gets: those named (each must be the project's, or any for an admin), else the
 * project's default group; none when port security is off, and naming some then is an error.
 */
async function resolveSecurityGroups(
  db: Db,
  ctx: RequestContext,
  project: { projectId: string; defaultGroup?: string | null },
  portSecurity: boolean,
  requested: string[] | undefined,
): Promise<string[]> {
  if (!portSecurity) {
    if (requested && requested.length > 0) {
      throw new PortSecurityAndIPRequiredForSecurityGroups(
        'Port security must be enabled and port must have an IP address in order to use security groups.',
      );
    }
    return [];
  }
  if (requested === undefined)
    return [project.defaultGroup ?? (await ensureDefaultSecurityGroup(db, project.projectId))];
  const unique = [...new Set(requested)];
  if (unique.length === 0) return [];
  const rows = await db.selectFrom('security_groups').select(['id', 'project_id']).where('id', 'in', unique).execute();
  for (const id of unique) {
    const row = rows.find((r) => r.id === id);
    if (!row || (!ctx.isAdmin && row.project_id !== project.projectId)) throw securityGroupNotFound(id);
  }
  return unique;
}

async function writeGroups(trx: Transaction<Schema>, portId: string, groups: string[]): Promise<void> {
  await trx.deleteFrom('security_group_port_bindings').where('port_id', '=', portId).execute();
  await insertGroups(trx, [portId], groups);
}

/** Binds each of the ports to each of the groups, in one insert. */
async function insertGroups(trx: Transaction<Schema>, portIds: readonly string[], groups: string[]): Promise<void> {
  if (portIds.length > 0 && groups.length > 0) {
    await trx
      .insertInto('security_group_port_bindings')
      .values(portIds.flatMap((port_id) => groups.map((security_group_id) => ({ port_id, security_group_id }))))
      .execute();
  }
}

async function writePairs(trx: Transaction<Schema>, portId: string, mac: string, pairs: AddressPair[]): Promise<void> {
  await trx.deleteFrom('port_allowed_address_pairs').where('port_id', '=', portId).execute();
  await insertPairs(trx, portId, mac, pairs);
}

async function insertPairs(trx: Transaction<Schema>, portId: string, mac: string, pairs: AddressPair[]): Promise<void> {
  if (pairs.length > 0) {
    await trx
      .insertInto('port_allowed_address_pairs')
      .values(pairs.map((p) => ({ port_id: portId, ip_address: p.ip_address, mac_address: p.mac_address || mac })))
      .execute();
  }
}

/** Port rows with their addresses, groups and pairs, as Neutron shows them. */
export async function portRecords(db: Db, rows: PortsTable[]): Promise<PortRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [ips, groups, pairs, subnets] = await Promise.all([
    db.selectFrom('ip_allocations').selectAll().where('port_id', 'in', ids).execute(),
    db.selectFrom('security_group_port_bindings').selectAll().where('port_id', 'in', ids).execute(),
    db.selectFrom('port_allowed_address_pairs').selectAll().where('port_id', 'in', ids).execute(),
    db
      .selectFrom('subnets')
      .select(['id', 'created_at'])
      .where('network_id', 'in', [...new Set(rows.map((r) => r.network_id))])
      .execute(),
  ]);
  const subnetOrder = new Map(
    subnets
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))
      .map((s, i) => [s.id, i]),
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    network_id: row.network_id,
    tenant_id: row.project_id,
    project_id: row.project_id,
    mac_address: row.mac_address,
    admin_state_up: row.admin_state_up === 1,
    status: row.status,
    device_id: row.device_id,
    device_owner: row.device_owner,
    fixed_ips: ips
      .filter((ip) => ip.port_id === row.id)
      .sort(
        (a, b) =>
          (subnetOrder.get(a.subnet_id) ?? 0) - (subnetOrder.get(b.subnet_id) ?? 0) ||
          compareIps(a.ip_address, b.ip_address),
      )
      .map((ip) => ({ subnet_id: ip.subnet_id, ip_address: ip.ip_address })),
    allowed_address_pairs: pairs
      .filter((p) => p.port_id === row.id)
      .map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address })),
    security_groups: groups.filter((g) => g.port_id === row.id).map((g) => g.security_group_id),
    port_security_enabled: row.port_security_enabled === 1,
    'binding:host_id': row.binding_host_id,
    'binding:vif_type': row.binding_vif_type,
    'binding:vif_details': JSON.parse(row.binding_vif_details) as Record<string, unknown>,
    'binding:vnic_type': row.binding_vnic_type,
    'binding:profile': JSON.parse(row.binding_profile) as Record<string, unknown>,
    ...standardAttributes(row),
  }));
}

function compareIps(a: string, b: string): number {
  const [x, y] = [parseIp(a)!.value, parseIp(b)!.value];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Ports the caller may see: its own, and any on a network it owns. */
async function visiblePortRows(
  db: Db,
  ctx: RequestContext,
  where: { id?: string; networkId?: string; deviceId?: string } = {},
): Promise<PortsTable[]> {
  let query = db.selectFrom('ports').selectAll('ports');
  if (where.id !== undefined) query = query.where('ports.id', '=', where.id);
  if (where.networkId !== undefined) query = query.where('ports.network_id', '=', where.networkId);
  if (where.deviceId !== undefined) query = query.where('ports.device_id', '=', where.deviceId);
  if (!ctx.isAdmin) {
    const project = ctx.projectId ?? '';
    query = query
      .innerJoin('networks', 'networks.id', 'ports.network_id')
      .where((eb) => eb.or([eb('ports.project_id', '=', project), eb('networks.project_id', '=', project)]));
  }
  return query.execute();
}

export async function getPort(db: Db, ctx: RequestContext, id: string): Promise<PortRecord> {
  const rows = await visiblePortRows(db, ctx, { id });
  if (rows.length === 0) throw portNotFound(id);
  return (await portRecords(db, rows))[0]!;
}

/** `network_id` and `device_id` narrow the query in the database (the API filters the rest). */
export async function listPorts(
  db: Db,
  ctx: RequestContext,
  where: { networkId?: string; deviceId?: string } = {},
): Promise<PortRecord[]> {
  return portRecords(db, await visiblePortRows(db, ctx, where));
}

async function ownedPortRow(db: Db, ctx: RequestContext, id: string, action: string): Promise<PortsTable> {
  const [row] = await visiblePortRows(db, ctx, { id });
  if (!row) throw portNotFound(id);
  requireNetworkPolicy(ctx, action, { project_id: row.project_id });
  return row;
}

export async function updatePort(db: Db, ctx: RequestContext, id: string, changes: PortUpdate): Promise<PortRecord> {
  const current = await ownedPortRow(db, ctx, id, 'update_port');
  const portSecurity = changes.port_security_enabled ?? current.port_security_enabled === 1;
  const groups =
    changes.security_groups !== undefined || changes.port_security_enabled !== undefined
      ? await resolveSecurityGroups(
          db,
          ctx,
          { projectId: current.project_id },
          portSecurity,
          changes.security_groups ?? (portSecurity ? await currentGroups(db, id) : []),
        )
      : undefined;
  const mac = changes.mac_address !== undefined ? checkMac(changes.mac_address) : current.mac_address;
  const pairs = changes.allowed_address_pairs ? checkAddressPairs(changes.allowed_address_pairs) : undefined;
  const vnicType = changes.binding_vnic_type ?? current.binding_vnic_type;
  const binding =
    changes.binding_host_id !== undefined || changes.binding_vnic_type !== undefined
      ? bindingFor(changes.binding_host_id ?? current.binding_host_id, vnicType)
      : {};
  for (let attempt = 1; ; attempt++) {
    try {
      await inTransaction(db, async (trx) => {
        const row: PortsTable = {
          ...current,
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.admin_state_up !== undefined ? { admin_state_up: changes.admin_state_up ? 1 : 0 } : {}),
          ...(changes.device_id !== undefined ? { device_id: changes.device_id } : {}),
          ...(changes.device_owner !== undefined ? { device_owner: changes.device_owner } : {}),
          ...(changes.binding_profile !== undefined
            ? { binding_profile: JSON.stringify(changes.binding_profile) }
            : {}),
          ...binding,
          // Bound elsewhere or unbound: down until the new host plugs it (port-status.ts).
          ...(changes.binding_host_id !== undefined && changes.binding_host_id !== current.binding_host_id
            ? { status: PORT_DOWN }
            : {}),
          binding_vnic_type: vnicType,
          mac_address: mac,
          port_security_enabled: portSecurity ? 1 : 0,
          revision_number: current.revision_number + 1,
          updated_at: now(),
        };
        if (mac !== current.mac_address) await checkMacFree(trx, row);
        const { id: _id, ...rest } = row;
        try {
          await trx.updateTable('ports').set(rest).where('id', '=', id).execute();
        } catch (err) {
          throw isUniqueViolation(err) ? macInUse(row) : err;
        }
        if (changes.fixed_ips !== undefined) await reallocate(trx, row, changes.fixed_ips);
        if (groups !== undefined) await writeGroups(trx, id, groups);
        if (pairs !== undefined) await writePairs(trx, id, mac, pairs);
      });
      return await getPort(db, ctx, id);
    } catch (err) {
      if (!(err instanceof AllocationRaceLost) || attempt >= ALLOCATION_ATTEMPTS) throw err;
    }
  }
}

async function currentGroups(db: Db, portId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('security_group_port_bindings')
    .select('security_group_id')
    .where('port_id', '=', portId)
    .execute();
  return rows.map((r) => r.security_group_id);
}

/**
 * New fixed_ips replace the old: an address the port keeps stays its own (an entry naming only a
 * subnet the port already has an address on keeps that address), the rest are released.
 */
async function reallocate(trx: Transaction<Schema>, port: PortsTable, requests: FixedIpRequest[]): Promise<void> {
  const held = await trx.selectFrom('ip_allocations').selectAll().where('port_id', '=', port.id).execute();
  const keep = new Set<string>();
  const resolved = requests.map((r) => {
    if (r.ip_address !== undefined || r.subnet_id === undefined) return r;
    const mine = held.find((h) => h.subnet_id === r.subnet_id && !keep.has(h.ip_address));
    if (!mine) return r;
    keep.add(mine.ip_address);
    return { subnet_id: r.subnet_id, ip_address: mine.ip_address };
  });
  await trx.deleteFrom('ip_allocations').where('port_id', '=', port.id).execute();
  await allocatePortAddresses(trx, port, resolved);
}

/** Deletes a port. Through the API, ports of routers and floating IPs are refused, as in Neutron. */
export async function deletePort(db: Db, ctx: RequestContext, id: string, options: { viaApi: boolean }): Promise<void> {
  const row = await ownedPortRow(db, ctx, id, 'delete_port');
  if (options.viaApi && SERVICE_PORT_OWNERS.includes(row.device_owner)) {
    throw new ServicePortInUse(
      `Port ${id} cannot be deleted directly via the port API: has device owner ${row.device_owner}.`,
    );
  }
  await inTransaction(db, (trx) => removePortRows(trx, [id]));
}

/** Removes ports and everything that hangs off them, in the caller's transaction. */
export async function removePortRows(trx: Transaction<Schema>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  // A floating IP outlives the port it maps to: it is unmapped, as Neutron does, not left pointing at nothing.
  for (const id of ids) await disassociatePortFloatingIps(trx, id);
  await trx.deleteFrom('ip_allocations').where('port_id', 'in', ids).execute();
  await trx.deleteFrom('security_group_port_bindings').where('port_id', 'in', ids).execute();
  await trx.deleteFrom('port_allowed_address_pairs').where('port_id', 'in', ids).execute();
  await trx.deleteFrom('network_tags').where('resource_id', 'in', ids).execute();
  await trx.deleteFrom('ports').where('id', 'in', ids).execute();
}

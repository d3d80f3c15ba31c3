/**
 * Floating IPs: an address of an external network (held by a port of that network, device_owner
 * network:floatingip, so no one else gets it) that maps 1:1 to a fixed address of a project port. The
 * mapping needs a router with the fixed address's subnet as an interface and its gateway on the
 * floating network (router-topology.ts), as in Neutron. The status is ACTIVE while mapped, DOWN when
 * not: the NAT lives on the guest's host, which follows the mapping.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { adminContext, type RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now, type FloatingIpsTable, type Schema } from '../common/db/schema.ts';
import { isUniqueViolation } from '../common/db/unique.ts';
import { ownsOrAdmin, requireNetworkPolicy } from './access.ts';
import { badRequest } from './errors.ts';
import { canonicalIp, parseIp } from './ip.ts';
import {
  ExternalGatewayForFloatingIPNotFound,
  ExternalIpAddressExhausted,
  FloatingIPPortAlreadyAssociated,
  floatingIpNotFound,
} from './l3-errors.ts';
import { getVisibleNetworkRow } from './networks.ts';
import { createPort, getPort, removePortRows, type PortRecord } from './ports.ts';
import { checkQuota } from './quotas.ts';
import { routerReaching } from './router-topology.ts';
import { standardAttributes } from './standard-attributes.ts';
import { inTransaction } from './transaction.ts';

export const FLOATING_IP_OWNER = 'network:floatingip';

/** The fip-port-details extension: what a client shows about the mapped port without another request. */
export interface PortDetails {
  name: string;
  network_id: string;
  mac_address: string;
  admin_state_up: boolean;
  status: string;
  device_id: string;
  device_owner: string;
}

export interface FloatingIpRecord {
  id: string;
  tenant_id: string;
  project_id: string;
  floating_ip_address: string;
  floating_network_id: string;
  router_id: string | null;
  port_id: string | null;
  fixed_ip_address: string | null;
  status: string;
  port_details: PortDetails | null;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface FloatingIpCreate {
  project_id: string;
  floating_network_id: string;
  floating_ip_address?: string | null;
  subnet_id?: string | null;
  port_id?: string | null;
  fixed_ip_address?: string | null;
  description?: string;
}

export interface FloatingIpUpdate {
  port_id?: string | null;
  fixed_ip_address?: string | null;
  description?: string;
}

type Reader = Db | Transaction<Schema>;

export async function floatingIpRecords(db: Reader, rows: FloatingIpsTable[]): Promise<FloatingIpRecord[]> {
  const portIds = rows.flatMap((r) => (r.fixed_port_id ? [r.fixed_port_id] : []));
  const ports = portIds.length ? await db.selectFrom('ports').selectAll().where('id', 'in', portIds).execute() : [];
  return rows.map((row) => {
    const port = ports.find((p) => p.id === row.fixed_port_id);
    return {
      id: row.id,
      tenant_id: row.project_id,
      project_id: row.project_id,
      floating_ip_address: row.floating_ip_address,
      floating_network_id: row.floating_network_id,
      router_id: row.router_id,
      port_id: row.fixed_port_id,
      fixed_ip_address: row.fixed_ip_address,
      status: row.status,
      port_details: port
        ? {
            name: port.name,
            network_id: port.network_id,
            mac_address: port.mac_address,
            admin_state_up: port.admin_state_up === 1,
            status: port.status,
            device_id: port.device_id,
            device_owner: port.device_owner,
          }
        : null,
      ...standardAttributes(row),
    };
  });
}

async function visibleRow(db: Reader, ctx: RequestContext, id: string): Promise<FloatingIpsTable> {
  const row = await db.selectFrom('floating_ips').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !ownsOrAdmin(ctx, row.project_id, 'get_floatingip')) throw floatingIpNotFound(id);
  return row;
}

export async function getFloatingIp(db: Db, ctx: RequestContext, id: string): Promise<FloatingIpRecord> {
  return (await floatingIpRecords(db, [await visibleRow(db, ctx, id)]))[0]!;
}

export async function listFloatingIps(db: Db, ctx: RequestContext): Promise<FloatingIpRecord[]> {
  let query = db.selectFrom('floating_ips').selectAll();
  if (!ctx.isAdmin) query = query.where('project_id', '=', ctx.projectId ?? '');
  return floatingIpRecords(db, await query.execute());
}

interface Association {
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
}

const NONE: Association = { fixed_port_id: null, fixed_ip_address: null, router_id: null };

/** Port owners whose addresses a floating IP may map to: guests and ordinary ports, not network services. */
function servedOwner(owner: string): boolean {
  return owner === '' || !owner.startsWith('network:');
}

/**
 * Checks the mapping of a floating IP (of `projectId`, on `floatingNetworkId`) to a port and one of its
 * fixed addresses, and finds the router that connects them. The port must be one the caller sees (else
 * PortNotFound, which is what another project's port is to a project).
 */
async function resolveAssociation(
  db: Db,
  ctx: RequestContext,
  fip: { id: string | null; project_id: string; floating_network_id: string },
  portId: string | null | undefined,
  fixedIp: string | null | undefined,
): Promise<Association> {
  if (!portId) {
    if (fixedIp) throw badRequest('floatingip', 'fixed_ip_address cannot be specified without a port_id');
    return NONE;
  }
  const port: PortRecord = await getPort(db, ctx, portId);
  if (port.project_id !== fip.project_id && !ctx.isAdmin) {
    throw badRequest(
      'floatingip',
      `Cannot process floating IP association with Port ${port.id}, since that port is owned by a different project`,
    );
  }
  if (!servedOwner(port.device_owner)) {
    throw badRequest('floatingip', `Port ${port.id} is unable to be assigned a floating IP`);
  }
  let chosen: { subnet_id: string; ip_address: string } | undefined;
  if (fixedIp) {
    const wanted = canonicalIp(fixedIp);
    if (wanted === null) throw badRequest('floatingip', `'${fixedIp}' is not a valid IP address`);
    if (parseIp(wanted)!.version !== 4) {
      throw badRequest(
        'floatingip',
        `Cannot process floating IP association with ${fixedIp}, since that is not an IPv4 address`,
      );
    }
    chosen = port.fixed_ips.find((f) => f.ip_address === wanted);
    if (!chosen) throw badRequest('floatingip', `Port ${port.id} does not have fixed ip ${fixedIp}`);
  } else {
    const v4 = port.fixed_ips.filter((f) => parseIp(f.ip_address)?.version === 4);
    if (v4.length === 0) {
      throw badRequest('floatingip', `Cannot add floating IP to port ${port.id} that has no fixed IPv4 addresses`);
    }
    if (v4.length > 1) {
      throw badRequest(
        'floatingip',
        `Port ${port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP`,
      );
    }
    chosen = v4[0]!;
  }
  const subnet = await db
    .selectFrom('subnets')
    .select(['id', 'gateway_ip'])
    .where('id', '=', chosen.subnet_id)
    .executeTakeFirstOrThrow();
  const routerId = await routerReaching(db, subnet, fip.floating_network_id);
  if (!routerId) {
    throw new ExternalGatewayForFloatingIPNotFound(
      `External network ${fip.floating_network_id} is not reachable from subnet ${subnet.id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`,
    );
  }
  const taken = await db
    .selectFrom('floating_ips')
    .select('id')
    .where('floating_network_id', '=', fip.floating_network_id)
    .where('fixed_port_id', '=', port.id)
    .where('fixed_ip_address', '=', chosen.ip_address)
    .executeTakeFirst();
  if (taken && taken.id !== fip.id) throw alreadyAssociated(fip, port.id, chosen.ip_address, taken.id);
  return { fixed_port_id: port.id, fixed_ip_address: chosen.ip_address, router_id: routerId };
}

function alreadyAssociated(
  fip: { id: string | null; floating_network_id: string },
  portId: string,
  fixedIp: string,
  holder: string,
): Error {
  return new FloatingIPPortAlreadyAssociated(
    `Cannot associate floating IP ${fip.id ?? ''} (${holder}) with port ${portId} using fixed IP ${fixedIp}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`,
  );
}

/** Writes a mapping; the unique key (network, port, fixed address) settles two racing associations. */
async function writeAssociation(
  trx: Transaction<Schema>,
  fip: { id: string; floating_network_id: string },
  association: Association,
  extra: Partial<FloatingIpsTable>,
): Promise<void> {
  try {
    await trx
      .updateTable('floating_ips')
      .set({ ...association, status: association.fixed_port_id ? 'ACTIVE' : 'DOWN', ...extra })
      .where('id', '=', fip.id)
      .execute();
  } catch (err) {
    if (!isUniqueViolation(err) || !association.fixed_port_id) throw err;
    throw alreadyAssociated(fip, association.fixed_port_id, association.fixed_ip_address ?? '', 'another');
  }
}

export async function createFloatingIp(
  db: Db,
  ctx: RequestContext,
  input: FloatingIpCreate,
): Promise<FloatingIpRecord> {
  requireNetworkPolicy(ctx, 'create_floatingip', { project_id: input.project_id });
  // Neutron's defaults let only an admin pick the address.
  if (input.floating_ip_address) {
    requireNetworkPolicy(ctx, 'create_floatingip:floating_ip_address', { project_id: input.project_id });
  }
  const network = await getVisibleNetworkRow(db, ctx, input.floating_network_id);
  if (network.router_external !== 1) {
    throw badRequest('floatingip', `Network ${network.id} is not a valid external network`);
  }
  const subnets = await db
    .selectFrom('subnets')
    .select(['id', 'ip_version'])
    .where('network_id', '=', network.id)
    .execute();
  if (!subnets.some((s) => s.ip_version === 4)) {
    throw badRequest('floatingip', `Network ${network.id} does not contain any IPv4 subnet`);
  }
  if (input.subnet_id && !subnets.some((s) => s.id === input.subnet_id && s.ip_version === 4)) {
    throw badRequest('floatingip', `Subnet ${input.subnet_id} is not an IPv4 subnet of network ${network.id}`);
  }
  const id = randomUUID();
  const association = await resolveAssociation(
    db,
    ctx,
    { id: null, project_id: input.project_id, floating_network_id: network.id },
    input.port_id,
    input.fixed_ip_address,
  );
  // Checked before the port is made, so an over-quota request leaves nothing behind.
  await inTransaction(db, (trx) => checkQuota(trx, input.project_id, 'floatingip', 1));
  const fixed = input.subnet_id || input.floating_ip_address;
  const port = await createPort(db, adminContext(), {
    project_id: '',
    network_id: network.id,
    device_id: id,
    device_owner: FLOATING_IP_OWNER,
    port_security_enabled: false,
    ...(fixed
      ? {
          fixed_ips: [
            {
              ...(input.subnet_id ? { subnet_id: input.subnet_id } : {}),
              ...(input.floating_ip_address ? { ip_address: input.floating_ip_address } : {}),
            },
          ],
        }
      : {
          fixed_ips: subnets
            .filter((s) => s.ip_version === 4)
            .slice(0, 1)
            .map((s) => ({ subnet_id: s.id })),
        }),
  });
  try {
    const address = port.fixed_ips.find((f) => parseIp(f.ip_address)?.version === 4)?.ip_address;
    if (!address) {
      throw new ExternalIpAddressExhausted(`Unable to find any IP address on external network ${network.id}.`);
    }
    await inTransaction(db, async (trx) => {
      await checkQuota(trx, input.project_id, 'floatingip', 1);
      const stamp = now();
      await trx
        .insertInto('floating_ips')
        .values({
          id,
          project_id: input.project_id,
          floating_ip_address: address,
          floating_network_id: network.id,
          floating_port_id: port.id,
          ...NONE,
          status: 'DOWN',
          description: input.description ?? '',
          revision_number: 0,
          created_at: stamp,
          updated_at: stamp,
        })
        .execute();
      if (association.fixed_port_id)
        await writeAssociation(trx, { id, floating_network_id: network.id }, association, {});
    });
  } catch (err) {
    await inTransaction(db, (trx) => removePortRows(trx, [port.id]));
    throw err;
  }
  return getFloatingIp(db, ctx, id);
}

export async function updateFloatingIp(
  db: Db,
  ctx: RequestContext,
  id: string,
  changes: FloatingIpUpdate,
): Promise<FloatingIpRecord> {
  const row = await visibleRow(db, ctx, id);
  // Without port_id, an update keeps the current port (and may change its fixed address), as Neutron.
  const portId = changes.port_id !== undefined ? changes.port_id : row.fixed_port_id;
  const fixedIp =
    changes.fixed_ip_address !== undefined
      ? changes.fixed_ip_address
      : changes.port_id !== undefined
        ? undefined
        : row.fixed_ip_address;
  const association =
    changes.port_id === undefined && changes.fixed_ip_address === undefined
      ? { fixed_port_id: row.fixed_port_id, fixed_ip_address: row.fixed_ip_address, router_id: row.router_id }
      : await resolveAssociation(db, ctx, row, portId, fixedIp);
  await inTransaction(db, (trx) =>
    writeAssociation(trx, row, association, {
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      revision_number: row.revision_number + 1,
      updated_at: now(),
    }),
  );
  return getFloatingIp(db, ctx, id);
}

export async function deleteFloatingIp(db: Db, ctx: RequestContext, id: string): Promise<void> {
  const row = await visibleRow(db, ctx, id);
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('floating_ips').where('id', '=', id).execute();
    await trx.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    await removePortRows(trx, [row.floating_port_id]);
  });
}

/**
 * Unmaps every floating IP of a port, in the caller's transaction: what deleting a port (or a guest's
 * interface) does to its floating IPs, as Neutron disassociates them.
 */
export async function disassociatePortFloatingIps(trx: Transaction<Schema>, portId: string): Promise<void> {
  await trx
    .updateTable('floating_ips')
    .set({ ...NONE, status: 'DOWN', updated_at: now() })
    .where('fixed_port_id', '=', portId)
    .execute();
}

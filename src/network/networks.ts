/**
 * Networks: create, read, update and delete, with Neutron's rules for provider segments (flat, vlan,
 * local), sharing, `router:external` and deletion (refused while ports other than DHCP's use it;
 * its subnets go with it).
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now, type NetworksTable } from '../common/db/schema.ts';
import { isUniqueViolation } from '../common/db/unique.ts';
import { canSeeNetwork, requireNetworkPolicy } from './access.ts';
import { declareError, StratusError } from '../common/errors.ts';
import { invalidInput, NetworkInUse, networkNotFound } from './errors.ts';
import { removePortRows } from './ports.ts';
import { checkQuota } from './quotas.ts';
import { standardAttributes } from './standard-attributes.ts';
import { inTransaction } from './transaction.ts';

export const DEFAULT_MTU = 1500;
export const NETWORK_TYPES = ['flat', 'vlan', 'local'] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** Ports Neutron removes by itself with their network, so they never keep it "in use". */
export const AUTO_DELETE_PORT_OWNERS = ['network:dhcp', 'network:distributed', 'network:floatingip_agent_gateway'];

const FlatNetworkInUse = declareError(
  class FlatNetworkInUse extends StratusError {
    override readonly status = 409;
  },
);
const VlanIdInUse = declareError(
  class VlanIdInUse extends StratusError {
    override readonly status = 409;
  },
);
const InvalidSharedSetting = declareError(
  class InvalidSharedSetting extends StratusError {
    override readonly status = 409;
  },
);

/** A network as Neutron shows it, every attribute (the API hides the admin-only ones from others). */
export interface NetworkRecord {
  id: string;
  name: string;
  tenant_id: string;
  project_id: string;
  admin_state_up: boolean;
  status: string;
  subnets: string[];
  shared: boolean;
  mtu: number;
  port_security_enabled: boolean;
  'router:external': boolean;
  'provider:network_type': string;
  'provider:physical_network': string | null;
  'provider:segmentation_id': number | null;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface ProviderSegment {
  network_type?: string | undefined;
  physical_network?: string | null | undefined;
  segmentation_id?: number | null | undefined;
}

export interface NetworkCreate {
  project_id: string;
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  shared?: boolean;
  router_external?: boolean;
  mtu?: number;
  port_security_enabled?: boolean;
  provider?: ProviderSegment;
}

export type NetworkUpdate = Partial<
  Pick<
    NetworkCreate,
    'name' | 'description' | 'admin_state_up' | 'shared' | 'router_external' | 'mtu' | 'port_security_enabled'
  >
>;

export function networkRecord(row: NetworksTable, subnetIds: string[]): NetworkRecord {
  return {
    id: row.id,
    name: row.name,
    tenant_id: row.project_id,
    project_id: row.project_id,
    admin_state_up: row.admin_state_up === 1,
    status: row.status,
    subnets: subnetIds,
    shared: row.shared === 1,
    mtu: row.mtu,
    port_security_enabled: row.port_security_enabled === 1,
    'router:external': row.router_external === 1,
    'provider:network_type': row.network_type,
    'provider:physical_network': row.physical_network,
    'provider:segmentation_id': row.segmentation_id,
    ...standardAttributes(row),
  };
}

/**
 * Checks a provider segment as ML2's type drivers do and returns it with its unique key. Without one,
 * a network is `local`: Stratus has no tenant segment pool yet, so project networks stay on one host's
 * bridge unless an admin puts them on a physical network.
 */
export function resolveSegment(segment: ProviderSegment | undefined): {
  network_type: NetworkType;
  physical_network: string | null;
  segmentation_id: number | null;
  segment_key: string | null;
} {
  const type = segment?.network_type ?? 'local';
  const physnet = segment?.physical_network ?? null;
  const vlan = segment?.segmentation_id ?? null;
  if (!(NETWORK_TYPES as readonly string[]).includes(type)) {
    throw invalidInput(`network_type value '${type}' not supported`);
  }
  if (type === 'local') {
    if (physnet !== null) throw invalidInput('physical_network prohibited for local provider network');
    if (vlan !== null) throw invalidInput('segmentation_id prohibited for local provider network');
    return { network_type: 'local', physical_network: null, segmentation_id: null, segment_key: null };
  }
  if (physnet === null || physnet === '') throw invalidInput(`physical_network required for ${type} provider network`);
  if (type === 'flat') {
    if (vlan !== null) throw invalidInput('segmentation_id prohibited for flat provider network');
    return { network_type: 'flat', physical_network: physnet, segmentation_id: null, segment_key: `flat:${physnet}` };
  }
  if (vlan === null) throw invalidInput('segmentation_id required for VLAN provider network');
  if (vlan < 1 || vlan > 4094) throw invalidInput('segmentation_id out of range (1 through 4094)');
  return {
    network_type: 'vlan',
    physical_network: physnet,
    segmentation_id: vlan,
    segment_key: `vlan:${physnet}:${vlan}`,
  };
}

export async function createNetwork(db: Db, request: NetworkCreate): Promise<NetworkRecord> {
  const segment = resolveSegment(request.provider);
  const stamp = now();
  const row: NetworksTable = {
    id: randomUUID(),
    project_id: request.project_id,
    name: request.name ?? '',
    description: request.description ?? '',
    status: 'ACTIVE',
    admin_state_up: request.admin_state_up === false ? 0 : 1,
    shared: request.shared ? 1 : 0,
    router_external: request.router_external ? 1 : 0,
    ...segment,
    mtu: request.mtu ?? DEFAULT_MTU,
    port_security_enabled: request.port_security_enabled === false ? 0 : 1,
    revision_number: 1,
    created_at: stamp,
    updated_at: stamp,
  };
  try {
    await inTransaction(db, async (trx) => {
      await checkQuota(trx, request.project_id, 'network', 1);
      await trx.insertInto('networks').values(row).execute();
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // The segment key is the only unique column a new network can collide on.
    if (segment.network_type === 'flat') {
      throw new FlatNetworkInUse(
        `Unable to create the flat network. Physical network ${segment.physical_network} is in use.`,
      );
    }
    throw new VlanIdInUse(
      `Unable to create the network. The VLAN ${segment.segmentation_id} on physical network ` +
        `${segment.physical_network} is in use.`,
    );
  }
  return networkRecord(row, []);
}

/** The network row if `ctx` may see it, else NetworkNotFound. */
export async function getVisibleNetworkRow(db: Db, ctx: RequestContext, id: string): Promise<NetworksTable> {
  const row = await db.selectFrom('networks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !canSeeNetwork(ctx, row)) throw networkNotFound(id);
  return row;
}

export async function getNetwork(db: Db, ctx: RequestContext, id: string): Promise<NetworkRecord> {
  const row = await getVisibleNetworkRow(db, ctx, id);
  return networkRecord(row, await subnetIdsOf(db, [id]).then((m) => m.get(id) ?? []));
}

export async function listNetworks(db: Db, ctx: RequestContext): Promise<NetworkRecord[]> {
  let query = db.selectFrom('networks').selectAll();
  if (!ctx.isAdmin) {
    const project = ctx.projectId ?? '';
    query = query.where((eb) =>
      eb.or([eb('project_id', '=', project), eb('shared', '=', 1), eb('router_external', '=', 1)]),
    );
  }
  const rows = await query.execute();
  const subnets = await subnetIdsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => networkRecord(r, subnets.get(r.id) ?? []));
}

async function subnetIdsOf(db: Db, networkIds: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  if (networkIds.length === 0) return map;
  const rows = await db
    .selectFrom('subnets')
    .select(['id', 'network_id'])
    .where('network_id', 'in', networkIds)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  for (const r of rows) map.set(r.network_id, [...(map.get(r.network_id) ?? []), r.id]);
  return map;
}

/** Only the owner (or an admin) may change a network. */
export async function updateNetwork(
  db: Db,
  ctx: RequestContext,
  id: string,
  changes: NetworkUpdate,
): Promise<NetworkRecord> {
  await inTransaction(db, async (trx) => {
    const row = await getVisibleNetworkRow(trx, ctx, id);
    // Visible but not theirs (shared or external): Neutron refuses by policy rather than hiding it.
    requireNetworkPolicy(ctx, 'update_network', { project_id: row.project_id });
    if (changes.shared === false && row.shared === 1) {
      const others = await trx
        .selectFrom('ports')
        .select('id')
        .where('network_id', '=', id)
        .where('project_id', '!=', row.project_id)
        .where('device_owner', 'not in', AUTO_DELETE_PORT_OWNERS)
        .limit(1)
        .executeTakeFirst();
      if (others) {
        throw new InvalidSharedSetting(
          `Unable to reconfigure sharing settings for network ${id}. Multiple tenants are using it.`,
        );
      }
    }
    await trx
      .updateTable('networks')
      .set({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.admin_state_up !== undefined ? { admin_state_up: changes.admin_state_up ? 1 : 0 } : {}),
        ...(changes.shared !== undefined ? { shared: changes.shared ? 1 : 0 } : {}),
        ...(changes.router_external !== undefined ? { router_external: changes.router_external ? 1 : 0 } : {}),
        ...(changes.mtu !== undefined ? { mtu: changes.mtu } : {}),
        ...(changes.port_security_enabled !== undefined
          ? { port_security_enabled: changes.port_security_enabled ? 1 : 0 }
          : {}),
        revision_number: row.revision_number + 1,
        updated_at: now(),
      })
      .where('id', '=', id)
      .execute();
  });
  return getNetwork(db, ctx, id);
}

/** Bumps a network's revision: its subnets list changed. */
export async function touchNetwork(db: Db, id: string): Promise<void> {
  await db
    .updateTable('networks')
    .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() }))
    .where('id', '=', id)
    .execute();
}

export async function deleteNetwork(db: Db, ctx: RequestContext, id: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row = await getVisibleNetworkRow(trx, ctx, id);
    requireNetworkPolicy(ctx, 'delete_network', { project_id: row.project_id });
    const inUse = await trx
      .selectFrom('ports')
      .select('id')
      .where('network_id', '=', id)
      .where('device_owner', 'not in', AUTO_DELETE_PORT_OWNERS)
      .limit(1)
      .executeTakeFirst();
    if (inUse) {
      throw new NetworkInUse(
        `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`,
      );
    }
    const ports = await trx.selectFrom('ports').select('id').where('network_id', '=', id).execute();
    await removePortRows(
      trx,
      ports.map((p) => p.id),
    );
    const subnets = await trx.selectFrom('subnets').select('id').where('network_id', '=', id).execute();
    const subnetIds = subnets.map((s) => s.id);
    if (subnetIds.length > 0) {
      await trx.deleteFrom('subnet_allocation_pools').where('subnet_id', 'in', subnetIds).execute();
      await trx.deleteFrom('subnet_dns_nameservers').where('subnet_id', 'in', subnetIds).execute();
      await trx.deleteFrom('subnet_host_routes').where('subnet_id', 'in', subnetIds).execute();
      await trx.deleteFrom('network_tags').where('resource_id', 'in', subnetIds).execute();
      await trx.deleteFrom('subnets').where('id', 'in', subnetIds).execute();
    }
    await trx.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    await trx.deleteFrom('networks').where('id', '=', id).execute();
  });
}

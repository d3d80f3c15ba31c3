/**
 * The `networks` of a create, resolved and checked as Nova does before anything is written (its
 * validate_networks): which NICs each new server gets, and how many servers the project's port quota
 * leaves room for.
 *
 * - `none`: no NIC. `auto` (2.37), or no `networks` before 2.37: the one network the project may use
 *   (its own, else a shared one); several are ambiguous (409); none is no NIC before 2.37 and, for
 *   `auto`, the auto-allocated topology Stratus does not offer (400).
 * - A list: per entry a network (with an optional fixed address) or a port of the user's, which must be
 *   the project's, free and addressed.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { ExpressionBuilder } from 'kysely';
import type { Db } from '../../../common/db/database.ts';
import type { Schema } from '../../../common/db/schema.ts';
import { BadRequest, Conflict, Forbidden } from '../../../common/errors.ts';
import { canonicalIp, cidrContains, parseCidr, parseIp } from '../../../network/ip.ts';
import {
  findPort,
  portAddresses,
  portHoldingAddress,
  portsLeft,
  securityGroupsByName,
} from '../../../network/server-ports.ts';
import type { NicRequest } from '../../../objects/instance-networks.ts';
import type { CreateServerBody } from './schemas.ts';
import { permits } from '../../policy.ts';

type RequestedNetworks = CreateServerBody['server']['networks'];

export interface ResolvedNetworks {
  /** Each new server's NICs, in order (the same for every server of the request). */
  nics: NicRequest[];
  /** How many of the requested servers the port quota leaves room for (at least min_count). */
  maxCount: number;
}

interface VisibleNetwork {
  id: string;
  project_id: string;
  shared: number;
  router_external: number;
  /** Whether it has a subnet (a server needs one to boot on it), read with the network: 1/0, or a boolean on PostgreSQL. */
  has_subnet: number | boolean;
}

export async function resolveRequestedNetworks(
  db: Db,
  ctx: RequestContext,
  requested: RequestedNetworks,
  securityGroups: readonly { name?: string }[] | undefined,
  count: { min: number; max: number },
): Promise<ResolvedNetworks> {
  const projectId = ctx.projectId ?? '';
  const groups = await requestedSecurityGroups(db, projectId, securityGroups);
  if (requested === 'none') return { nics: [], maxCount: count.max };
  let nics: NicRequest[];
  if (requested === undefined || requested === 'auto' || requested.length === 0) {
    nics = await automaticNic(db, ctx, requested === 'auto', groups);
  } else {
    nics = await listedNics(db, ctx, requested, count.max, groups);
  }
  return { nics, maxCount: await portQuotaFit(db, projectId, nics, count) };
}

/**
 * The security groups the ports made for the server get: ids of the named groups (Nova resolves them
 * to ids at create); `default` stays a name, resolved when the port is made.
 */
async function requestedSecurityGroups(
  db: Db,
  projectId: string,
  requested: readonly { name?: string }[] | undefined,
): Promise<string[]> {
  const names = [...new Set((requested ?? [{ name: 'default' }]).map((g) => g.name ?? 'default'))];
  const others = names.filter((n) => n !== 'default');
  const found = await securityGroupsByName(db, projectId, others);
  for (const name of others) {
    if (!found.has(name)) throw new BadRequest(`Security group ${name} not found.`);
  }
  return names.map((n) => (n === 'default' ? n : found.get(n)!));
}

/** The networks a project may boot on without naming one: its own (not shared), then the shared ones. */
export async function availableNetworks(db: Db, projectId: string): Promise<VisibleNetwork[]> {
  const rows = await db
    .selectFrom('networks')
    .select(['id', 'project_id', 'shared', 'router_external', hasSubnet])
    .where((eb) => eb.or([eb.and([eb('project_id', '=', projectId), eb('shared', '=', 0)]), eb('shared', '=', 1)]))
    .orderBy('created_at')
    .execute();
  return [...rows.filter((n) => n.shared === 0), ...rows.filter((n) => n.shared === 1)];
}

async function automaticNic(db: Db, ctx: RequestContext, auto: boolean, groups: string[]): Promise<NicRequest[]> {
  const networks = await availableNetworks(db, ctx.projectId ?? '');
  if (networks.length > 1) {
    throw new Conflict('Multiple possible networks found, use a Network ID to be more specific.');
  }
  if (networks.length === 0) {
    if (auto) throw new BadRequest(`Unable to automatically allocate a network for project ${ctx.projectId ?? ''}`);
    return [];
  }
  requireSubnet(networks[0]!);
  return [{ network_id: networks[0]!.id, fixed_ip: null, port_id: null, tag: null, security_groups: groups }];
}

async function listedNics(
  db: Db,
  ctx: RequestContext,
  requested: Exclude<RequestedNetworks, string | undefined>,
  maxCount: number,
  groups: string[],
): Promise<NicRequest[]> {
  const nics: NicRequest[] = [];
  const missing: string[] = [];
  for (const entry of requested) {
    const tag = entry.tag ?? null;
    if (entry.port) {
      if (maxCount > 1) {
        throw new BadRequest(
          'Failed to launch instances: Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.',
        );
      }
      await checkUsablePort(db, ctx, entry.port);
      // A user's port keeps its own security groups: Nova does not change them.
      nics.push({ network_id: null, fixed_ip: null, port_id: entry.port, tag, security_groups: [] });
      continue;
    }
    const networkId = entry.uuid!;
    const network = await visibleNetwork(db, ctx, networkId);
    if (!network) {
      missing.push(networkId);
      continue;
    }
    if (network.router_external === 1 && network.shared === 0 && !permits(ctx, 'network:attach_external_network')) {
      throw new Forbidden(`It is not allowed to create an interface on external network ${networkId}`);
    }
    requireSubnet(network);
    let fixedIp: string | null = null;
    if (entry.fixed_ip !== undefined) {
      if (maxCount > 1) {
        throw new BadRequest(
          'Failed to launch instances: max_count cannot be greater than 1 if an fixed_ip is specified.',
        );
      }
      fixedIp = await checkFixedIp(db, networkId, entry.fixed_ip);
    }
    nics.push({ network_id: networkId, fixed_ip: fixedIp, port_id: null, tag, security_groups: groups });
  }
  if (missing.length) throw new BadRequest(`Network ${[...new Set(missing)].join(', ')} could not be found.`);
  return nics;
}

/** A network the caller may attach to: the project's own, a shared one, an external one, or any for an admin. */
export async function visibleNetwork(db: Db, ctx: RequestContext, id: string): Promise<VisibleNetwork | undefined> {
  const network = await db
    .selectFrom('networks')
    .select(['id', 'project_id', 'shared', 'router_external', hasSubnet])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!network) return undefined;
  const visible =
    ctx.isAdmin || network.project_id === ctx.projectId || network.shared === 1 || network.router_external === 1;
  return visible ? network : undefined;
}

export function requireSubnet(network: Pick<VisibleNetwork, 'id' | 'has_subnet'>): void {
  if (!network.has_subnet)
    throw new BadRequest(`Network ${network.id} requires a subnet in order to boot instances on.`);
}

/** The `has_subnet` column of a networks read. */
const hasSubnet = (eb: ExpressionBuilder<Schema, 'networks'>) =>
  eb
    .exists(eb.selectFrom('subnets').select('subnets.id').whereRef('subnets.network_id', '=', 'networks.id'))
    .$castTo<number | boolean>()
    .as('has_subnet');

/** A requested fixed address: in one of the network's subnets and held by no port. Answers it canonical. */
async function checkFixedIp(db: Db, networkId: string, address: string): Promise<string> {
  const problem = await fixedIpProblem(db, networkId, address);
  if (problem === 'invalid') throw new BadRequest(`Fixed IP address ${address} is not valid on network ${networkId}.`);
  if (problem) throw new BadRequest(fixedIpInUse(address, problem.inUseBy));
  return canonicalIp(address)!;
}

export const fixedIpInUse = (address: string, instance: string) =>
  `Fixed IP address ${address} is already in use on instance ${instance}.`;

/** Why a fixed address cannot be had on the network: outside its subnets, or held (by whom); null: free. */
export async function fixedIpProblem(
  db: Db,
  networkId: string,
  address: string,
): Promise<'invalid' | { inUseBy: string } | null> {
  const parsed = parseIp(address);
  const subnets = await db.selectFrom('subnets').select('cidr').where('network_id', '=', networkId).execute();
  const inSubnet = (cidr: string) => {
    const range = parseCidr(cidr);
    return range !== null && parsed !== null && cidrContains(range, parsed);
  };
  if (!subnets.some((s) => inSubnet(s.cidr))) return 'invalid';
  const holder = await portHoldingAddress(db, networkId, address);
  return holder ? { inUseBy: holder.device_id } : null;
}

/** A port named at create: the project's (others' are not found, as Neutron hides them), free, addressed. */
export async function checkUsablePort(db: Db, ctx: RequestContext, portId: string): Promise<void> {
  const port = await findPort(db, portId);
  if (!port || (!ctx.isAdmin && port.project_id !== ctx.projectId)) {
    throw new BadRequest(`Port id ${portId} could not be found.`);
  }
  if (port.device_id) throw new Conflict(`Port ${portId} is still in use.`);
  if (!(await portAddresses(db, portId)).length) {
    throw new BadRequest(`Port ${portId} requires a FixedIP in order to be used.`);
  }
}

/** Nova's port quota check: how many servers fit in the ports the project has left (403 when too few). */
async function portQuotaFit(
  db: Db,
  projectId: string,
  nics: readonly NicRequest[],
  count: { min: number; max: number },
): Promise<number> {
  const needed = nics.filter((n) => n.port_id === null).length;
  if (!needed) return count.max;
  const left = await portsLeft(db, projectId);
  if (left === null) return count.max;
  const { limit, used } = left;
  if (used > limit) throw new Forbidden(`The number of defined ports: ${used} is over the limit: ${limit}`);
  const fits = Math.floor((limit - used) / needed);
  if (fits < count.min || fits === 0) throw new Forbidden('Maximum number of ports exceeded');
  return Math.min(count.max, fits);
}

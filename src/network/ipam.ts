/**
 * IP address management: which addresses a port gets. An address is handed out by inserting its
 * ip_allocations row, whose primary key (network_id, ip_address) the engine enforces, so no two ports
 * ever hold one address, whatever number of API processes race. A process that loses the race for an
 * address it picked itself learns so from the unique violation, its transaction rolls back, and it
 * picks again from what is free then (allocatePortAddresses' caller retries); one that asked for a
 * given address is told it is taken.
 */
import type { Transaction } from 'kysely';
import type { Schema, SubnetsTable } from '../common/db/schema.ts';
import { isUniqueViolation } from '../common/db/unique.ts';
import {
  IpAddressAlreadyAllocated,
  IpAddressGenerationFailure,
  InvalidIpForNetwork,
  InvalidIpForSubnet,
  invalidInput,
} from './errors.ts';
import { cidrContains, formatIp, parseCidr, parseIp, type Cidr } from './ip.ts';
import { isAssignable } from './subnet-layout.ts';

/** One entry of a port's requested fixed_ips. */
export interface FixedIpRequest {
  subnet_id?: string;
  ip_address?: string;
}

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

/** A picked address lost a race with another allocator: run the whole transaction again. */
export class AllocationRaceLost extends Error {
  constructor() {
    super('an automatically chosen address was taken concurrently');
  }
}

/** How many free addresses a random pick chooses among: racing allocators rarely pick the same one. */
const PICK_WINDOW = 16;

const ROUTER_OWNERS = ['network:router_interface', 'network:router_interface_distributed', 'network:router_gateway'];

/**
 * Allocates the port's addresses in `trx`: the requested ones, or by default one from the first IPv4
 * subnet with room and one from the first IPv6 subnet with room (Neutron's default). Throws Neutron's
 * errors for bad or taken requests, AllocationRaceLost when an address it chose itself went meanwhile.
 */
export async function allocatePortAddresses(
  trx: Transaction<Schema>,
  port: { id: string; network_id: string; device_owner: string },
  requests: FixedIpRequest[] | undefined,
): Promise<{ allocated: FixedIp[]; subnets: SubnetsTable[] }> {
  const subnets = await subnetsWithPools(trx, port.network_id);
  const plan = planAllocations(port.network_id, subnets, requests, ROUTER_OWNERS.includes(port.device_owner));
  const allocated: FixedIp[] = [];
  for (const item of plan) {
    if (item.kind === 'explicit') {
      await insertAllocation(trx, port, item.subnet.id, item.address, true);
      allocated.push({ subnet_id: item.subnet.id, ip_address: item.address });
      continue;
    }
    const picked = await pickFree(trx, item.candidates, allocated);
    if (!picked) {
      throw new IpAddressGenerationFailure(
        item.subnetScoped
          ? `No more IP addresses available for subnet ${item.candidates[0]!.id}.`
          : `No more IP addresses available on network ${port.network_id}.`,
      );
    }
    await insertAllocation(trx, port, picked.subnet_id, picked.ip_address, false);
    allocated.push(picked);
  }
  return { allocated, subnets: subnets.map(({ pools: _pools, ...subnet }) => subnet) };
}

/**
 * Addresses for several new ports on one network that asked for none (a burst of servers' ports): per
 * IP version, one from the first subnet of that version with room, as allocatePortAddresses gives each
 * port, but picked for all of them with one probe and written with one insert. All or nothing: when the
 * subnets cannot give every port its addresses this throws, and the caller makes the ports one by one
 * to learn which of them fail. Throws AllocationRaceLost as allocatePortAddresses does.
 */
export async function allocateAutoAddresses(
  trx: Transaction<Schema>,
  networkId: string,
  portIds: readonly string[],
): Promise<{ allocated: Map<string, FixedIp[]>; subnets: SubnetsTable[] }> {
  const subnets = await subnetsWithPools(trx, networkId);
  const allocated = new Map(portIds.map((id) => [id, [] as FixedIp[]]));
  const rows: { network_id: string; ip_address: string; subnet_id: string; port_id: string }[] = [];
  for (const item of planAllocations(networkId, subnets, undefined, false)) {
    if (item.kind !== 'auto') continue;
    const picks = await pickFreeMany(trx, item.candidates, [], portIds.length);
    if (picks.length < portIds.length) {
      throw new IpAddressGenerationFailure(`No more IP addresses available on network ${networkId}.`);
    }
    portIds.forEach((port_id, i) => {
      allocated.get(port_id)!.push(picks[i]!);
      rows.push({ network_id: networkId, ip_address: picks[i]!.ip_address, subnet_id: picks[i]!.subnet_id, port_id });
    });
  }
  if (rows.length) {
    try {
      await trx.insertInto('ip_allocations').values(rows).execute();
    } catch (err) {
      throw isUniqueViolation(err) ? new AllocationRaceLost() : err;
    }
  }
  return { allocated, subnets: subnets.map(({ pools: _pools, ...subnet }) => subnet) };
}

type SubnetWithPools = SubnetsTable & { pools: Ranges };

/**
 * The network's subnets in Neutron's order, each with its allocation pools sorted: one read (a join)
 * rather than one for the subnets and one per subnet for its pools, as every port create asks.
 */
async function subnetsWithPools(trx: Transaction<Schema>, networkId: string): Promise<SubnetWithPools[]> {
  const rows = await trx
    .selectFrom('subnets')
    .leftJoin('subnet_allocation_pools as pool', 'pool.subnet_id', 'subnets.id')
    .selectAll('subnets')
    .select(['pool.first_ip as pool_first', 'pool.last_ip as pool_last'])
    .where('subnets.network_id', '=', networkId)
    .orderBy('subnets.created_at')
    .orderBy('subnets.id')
    .execute();
  const byId = new Map<string, SubnetWithPools>();
  for (const { pool_first, pool_last, ...subnet } of rows) {
    let entry = byId.get(subnet.id);
    if (!entry) byId.set(subnet.id, (entry = { ...subnet, pools: [] }));
    if (pool_first !== null && pool_last !== null) {
      entry.pools.push({ first: parseIp(pool_first)!.value, last: parseIp(pool_last)!.value });
    }
  }
  for (const subnet of byId.values()) subnet.pools.sort((a, b) => compare(a.first, b.first));
  return [...byId.values()];
}

type PlanItem =
  | { kind: 'explicit'; subnet: SubnetWithPools; address: string }
  | { kind: 'auto'; candidates: SubnetWithPools[]; subnetScoped: boolean };

function planAllocations(
  networkId: string,
  subnets: SubnetWithPools[],
  requests: FixedIpRequest[] | undefined,
  routerOwned: boolean,
): PlanItem[] {
  if (requests === undefined) {
    return ([4, 6] as const)
      .map((v) => subnets.filter((s) => s.ip_version === v))
      .filter((list) => list.length > 0)
      .map((candidates) => ({ kind: 'auto', candidates, subnetScoped: false }));
  }
  const seen = new Set<string>();
  return requests.map((request): PlanItem => {
    const subnet = request.subnet_id !== undefined ? subnets.find((s) => s.id === request.subnet_id) : undefined;
    if (request.subnet_id !== undefined && !subnet) {
      throw invalidInput(
        `Failed to create port on network ${networkId}, because fixed_ips included invalid subnet ${request.subnet_id}`,
      );
    }
    if (request.ip_address === undefined) return { kind: 'auto', candidates: [subnet!], subnetScoped: true };
    const ip = parseIp(request.ip_address);
    if (!ip) throw invalidInput(`${request.ip_address} is not a valid IP address`);
    const address = formatIp(ip);
    const target = subnet ?? subnets.find((s) => cidrContains(parseCidr(s.cidr)!, ip));
    if (!target) {
      throw new InvalidIpForNetwork(
        `IP address ${request.ip_address} is not a valid IP for any of the subnets on the specified network.`,
      );
    }
    const cidr = parseCidr(target.cidr)! as Cidr;
    const isGateway = target.gateway_ip === address;
    if (!isAssignable(cidr, ip.value) || (isGateway && !routerOwned)) {
      throw new InvalidIpForSubnet(`IP address ${request.ip_address} is not a valid IP for the specified subnet.`);
    }
    if (seen.has(address)) {
      throw new IpAddressAlreadyAllocated(`IP address ${address} already allocated in subnet ${target.id}`);
    }
    seen.add(address);
    return { kind: 'explicit', subnet: target, address };
  });
}

/**
 * Where each subnet's next automatic pick starts looking, in this process: the lowest address its last
 * probe found free. Only a hint: what is taken is always read from the database, so another process's
 * allocations, or this one's cursor being stale, cost a retry or a further window, never a duplicate.
 */
const cursors = new Map<string, bigint>();

/** How many addresses one probe asks the database about, and how many probes before a full scan. */
const PROBE_SIZE = 32;
const PROBES = 4;
const MAX_CURSORS = 10_000;

/**
 * A free address of the first candidate subnet that has one, picked at random among the first few
 * free ones from the subnet's cursor (pickFreeMany for one).
 */
async function pickFree(
  trx: Transaction<Schema>,
  candidates: SubnetWithPools[],
  already: FixedIp[],
): Promise<FixedIp | null> {
  return (await pickFreeMany(trx, candidates, already, 1))[0] ?? null;
}

/**
 * `count` free addresses (fewer only when the candidates have no more), from the first candidate
 * subnets that have them, each picked at random among the first few free ones from the subnet's
 * cursor: racing allocators seldom pick alike. A subnet is probed a window of addresses at a time (one
 * indexed query each, by the allocations' primary key), so a pick costs the same in an empty subnet
 * and a full one; only when a few windows lack what is wanted is the whole subnet read, so that "no
 * more addresses" is said only of a subnet that really has none.
 */
async function pickFreeMany(
  trx: Transaction<Schema>,
  candidates: SubnetWithPools[],
  already: FixedIp[],
  count: number,
): Promise<FixedIp[]> {
  const picked: FixedIp[] = [];
  for (const subnet of candidates) {
    const want = count - picked.length;
    if (want <= 0) break;
    const ranges = subnet.pools;
    if (ranges.length === 0) continue;
    const version = subnet.ip_version === 6 ? 6 : 4;
    const reserved = new Set(already.map((a) => a.ip_address));
    if (subnet.gateway_ip) reserved.add(subnet.gateway_ip);
    const free =
      (await probeFree(trx, subnet, version, ranges, reserved, want)) ??
      (await scanFree(trx, subnet, version, ranges, reserved, want));
    if (free.length === 0) {
      cursors.delete(subnet.id);
      continue;
    }
    // Subnets come and go; a process that saw very many forgets the hints rather than grow without end.
    if (cursors.size >= MAX_CURSORS) cursors.clear();
    cursors.set(subnet.id, parseIp(free[0]!)!.value);
    for (const address of sample(free, want)) picked.push({ subnet_id: subnet.id, ip_address: address });
  }
  return picked;
}

/** `count` of the items (all when fewer) in random order and choice. */
function sample<T>(items: readonly T[], count: number): T[] {
  const pool = [...items];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

type Ranges = { first: bigint; last: bigint }[];

/**
 * Free addresses from the subnet's cursor on (wrapping round its pools): `want` of them and up to
 * PICK_WINDOW - 1 more to choose among, asking the database about a window of addresses at a time;
 * null when PROBES windows held fewer than `want`.
 */
async function probeFree(
  trx: Transaction<Schema>,
  subnet: SubnetsTable,
  version: 4 | 6,
  ranges: Ranges,
  reserved: ReadonlySet<string>,
  want: number,
): Promise<string[] | null> {
  const enough = want + PICK_WINDOW - 1;
  const windowSize = Math.max(PROBE_SIZE, enough);
  const addresses = walkFrom(ranges, cursors.get(subnet.id));
  const free: string[] = [];
  for (let probe = 0; probe < PROBES; probe++) {
    const window: string[] = [];
    for (let next = addresses.next(); !next.done; next = addresses.next()) {
      const text = addressText(version, next.value);
      if (!reserved.has(text)) window.push(text);
      if (window.length >= windowSize) break;
    }
    if (window.length === 0) break;
    const taken = await trx
      .selectFrom('ip_allocations')
      .select('ip_address')
      .where('network_id', '=', subnet.network_id)
      .where('ip_address', 'in', window)
      .execute();
    const held = new Set(taken.map((t) => t.ip_address));
    free.push(...window.filter((a) => !held.has(a)));
    if (free.length >= want) return free.slice(0, enough);
  }
  return null;
}

/**
 * The pools' addresses once each, lazily: from `start` to the end of its pool, the later pools, the
 * earlier ones, then its own pool's start (all pools in order when `start` is absent or outside them).
 */
function* walkFrom(ranges: Ranges, start: bigint | undefined): Generator<bigint> {
  const at = start === undefined ? -1 : ranges.findIndex((r) => start >= r.first && start <= r.last);
  if (at < 0) {
    for (const r of ranges) for (let v = r.first; v <= r.last; v++) yield v;
    return;
  }
  const home = ranges[at]!;
  for (let v = start!; v <= home.last; v++) yield v;
  for (let i = 1; i < ranges.length; i++) {
    const r = ranges[(at + i) % ranges.length]!;
    for (let v = r.first; v <= r.last; v++) yield v;
  }
  for (let v = home.first; v < start!; v++) yield v;
}

/** The lowest free addresses of the pools, from every allocation of the subnet (one indexed query). */
async function scanFree(
  trx: Transaction<Schema>,
  subnet: SubnetsTable,
  version: 4 | 6,
  ranges: Ranges,
  reserved: ReadonlySet<string>,
  want: number,
): Promise<string[]> {
  const taken = await trx
    .selectFrom('ip_allocations')
    .select('ip_address')
    .where('subnet_id', '=', subnet.id)
    .execute();
  const used = new Set([...taken.map((t) => t.ip_address), ...reserved]);
  return lowestFree(version, ranges, used, want + PICK_WINDOW - 1);
}

/**
 * The first `count` addresses of the pools not in `used`. The scan passes every taken address of a
 * well-filled subnet, so IPv4 (all but a few subnets) is walked in plain numbers, formatted by hand:
 * bigint arithmetic and formatIp per address cost more than the query that read them.
 */
function lowestFree(version: 4 | 6, ranges: Ranges, used: ReadonlySet<string>, count: number): string[] {
  const free: string[] = [];
  for (const range of ranges) {
    if (version === 4) {
      const last = Number(range.last);
      for (let v = Number(range.first); v <= last && free.length < count; v++) {
        const text = ipv4Text(v);
        if (!used.has(text)) free.push(text);
      }
    } else {
      for (let v = range.first; v <= range.last && free.length < count; v++) {
        const text = formatIp({ version, value: v });
        if (!used.has(text)) free.push(text);
      }
    }
    if (free.length >= count) break;
  }
  return free;
}

/** An IPv4 address as canonical text from a plain number: bigint shifts per address cost more than a pick's query. */
function ipv4Text(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function addressText(version: 4 | 6, value: bigint): string {
  return version === 4 ? ipv4Text(Number(value)) : formatIp({ version, value });
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function insertAllocation(
  trx: Transaction<Schema>,
  port: { id: string; network_id: string },
  subnetId: string,
  address: string,
  requested: boolean,
): Promise<void> {
  if (requested) {
    const holder = await trx
      .selectFrom('ip_allocations')
      .select('port_id')
      .where('network_id', '=', port.network_id)
      .where('ip_address', '=', address)
      .executeTakeFirst();
    if (holder) throw new IpAddressAlreadyAllocated(`IP address ${address} already allocated in subnet ${subnetId}`);
  }
  try {
    await trx
      .insertInto('ip_allocations')
      .values({ network_id: port.network_id, ip_address: address, subnet_id: subnetId, port_id: port.id })
      .execute();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    if (requested) throw new IpAddressAlreadyAllocated(`IP address ${address} already allocated in subnet ${subnetId}`);
    throw new AllocationRaceLost();
  }
}

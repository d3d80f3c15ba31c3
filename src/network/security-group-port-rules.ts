/**
 * What security groups amount to on a host: every rule of the groups in the wire shape the datapath
 * consumes (VifSecurityRule). Compute hosts have no database, so the addresses of a remote group's
 * member ports of a rule's family (their fixed IPs and, as Neutron's firewall drivers count them, their
 * allowed address pairs, as host prefixes: a pair may be a whole prefix) are resolved here: into each
 * rule naming the group for hosts before compute 1.14, or once per group (`groupMembers`) for the member
 * rounds and for a 1.14 host that asks for a group it does not follow yet, its builds' rules naming the
 * group by id alone. Batched: one NetworkInfo's groups are loaded in a few queries.
 */
import type { GroupMembers } from '../wire/contracts/compute.ts';
import type { Db } from '../common/db/database.ts';
import type { VifSecurityRule } from '../wire/messages/network-info.ts';
import { parseCidr } from './ip.ts';

/** `10.0.0.5` as `10.0.0.5/32`, `2001:db8::5` as `2001:db8::5/128`; prefixes stay as they are. */
function asPrefix(address: string): { text: string; version: 4 | 6 } | null {
  const cidr = parseCidr(address);
  if (!cidr) return null;
  return {
    text: address.includes('/') ? address : `${address}/${cidr.version === 4 ? 32 : 128}`,
    version: cidr.version,
  };
}

/** A stored fixed IP (canonical, no prefix length) as a host prefix. */
function hostPrefix(address: string): { text: string; version: 4 | 6 } {
  return address.includes(':') ? { text: `${address}/128`, version: 6 } : { text: `${address}/32`, version: 4 };
}

/** The addresses of the ports bound to each group, by group id and IP version, sorted and each once. */
export async function memberPrefixes(db: Db, groupIds: string[]): Promise<Map<string, { 4: string[]; 6: string[] }>> {
  const members = new Map<string, { 4: string[]; 6: string[] }>();
  if (groupIds.length === 0) return members;
  const [fixed, pairs] = await Promise.all([
    db
      .selectFrom('security_group_port_bindings as b')
      .innerJoin('ip_allocations as a', 'a.port_id', 'b.port_id')
      .select(['b.security_group_id as group_id', 'a.ip_address as address'])
      .where('b.security_group_id', 'in', groupIds)
      .execute(),
    db
      .selectFrom('security_group_port_bindings as b')
      .innerJoin('port_allowed_address_pairs as p', 'p.port_id', 'b.port_id')
      .select(['b.security_group_id as group_id', 'p.ip_address as address'])
      .where('b.security_group_id', 'in', groupIds)
      .execute(),
  ]);
  // Sets, not arrays searched per address: a group's every member comes through here for each
  // NetworkInfo built, so a linear search would make each build quadratic in the group's size.
  const sets = new Map<string, { 4: Set<string>; 6: Set<string> }>();
  const add = (group: string, prefix: { text: string; version: 4 | 6 } | null) => {
    if (!prefix) return;
    let entry = sets.get(group);
    if (!entry) sets.set(group, (entry = { 4: new Set(), 6: new Set() }));
    entry[prefix.version].add(prefix.text);
  };
  // Fixed IPs are stored canonical and bare (ipam.ts), so they need no parsing, only their length.
  for (const { group_id, address } of fixed) add(group_id, hostPrefix(address));
  for (const { group_id, address } of pairs) add(group_id, asPrefix(address));
  for (const [group, entry] of sets) members.set(group, { 4: [...entry[4]].sort(), 6: [...entry[6]].sort() });
  return members;
}

/** The members of each group, one entry per id in that order (a group without members: empty lists). */
export async function groupMembers(db: Db, groupIds: readonly string[]): Promise<GroupMembers[]> {
  const ids = [...new Set(groupIds)];
  const members = await memberPrefixes(db, ids);
  return groupIds.map((id) => ({ id, ipv4: members.get(id)?.[4] ?? [], ipv6: members.get(id)?.[6] ?? [] }));
}

/**
 * How a rule naming a remote group leaves: `expanded` to the group's member addresses (every host reads
 * this), or `named`, with the group's id alone (hosts of compute 1.14 and later, which keep each group's
 * members in a set of their own).
 */
export type RemoteGroupRules = 'expanded' | 'named';

/** One rule as a host applies it, with the group it belongs to (a port gets the rules of its groups). */
export interface GroupRule {
  groupId: string;
  rule: VifSecurityRule;
}

/** The rules of the groups, in a stable order (group, then creation), remote groups as `remoteGroups` says. */
export async function rulesOfGroups(
  db: Db,
  groupIds: readonly string[],
  remoteGroups: RemoteGroupRules = 'expanded',
): Promise<GroupRule[]> {
  if (!groupIds.length) return [];
  const rows = await db
    .selectFrom('security_group_rules')
    .selectAll()
    .where('security_group_id', 'in', [...groupIds])
    .orderBy('security_group_id')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  // Named rules read no member: that read, per build, grew with the group (every build of a project's
  // servers is in its `default` group, whose rules name the group itself).
  const expanded = remoteGroups === 'expanded';
  const named = [...new Set(rows.flatMap((r) => (r.remote_group_id ? [r.remote_group_id] : [])))];
  const members = expanded ? await memberPrefixes(db, named) : new Map<string, { 4: string[]; 6: string[] }>();
  return rows.map((r) => {
    const version = r.ethertype === 'IPv6' ? 6 : 4;
    let remote: string[] | null | undefined = null;
    if (r.remote_ip_prefix) remote = [asPrefix(r.remote_ip_prefix)?.text ?? r.remote_ip_prefix];
    else if (r.remote_group_id) remote = expanded ? (members.get(r.remote_group_id)?.[version] ?? []) : undefined;
    return {
      groupId: r.security_group_id,
      rule: {
        direction: r.direction === 'egress' ? 'egress' : 'ingress',
        ethertype: version === 6 ? 'IPv6' : 'IPv4',
        protocol: r.protocol,
        port_range_min: r.port_range_min,
        port_range_max: r.port_range_max,
        ...(remote === undefined ? {} : { remote_prefixes: remote }),
        ...(r.remote_group_id && !r.remote_ip_prefix ? { remote_group_id: r.remote_group_id } : {}),
      },
    };
  });
}

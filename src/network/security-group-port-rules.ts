/**
 * What a port's security groups amount to on its host: every rule of every group bound to the port,
 * in the wire shape the datapath consumes (VifSecurityRule). Compute hosts have no database, so a rule
 * naming a remote group is resolved here into the addresses of that group's member ports (their fixed
 * IPs and allowed address pairs of the rule's family), as host prefixes.
 */
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

/** The addresses of the ports bound to each group, by group id and IP version. */
async function memberPrefixes(db: Db, groupIds: string[]): Promise<Map<string, { 4: string[]; 6: string[] }>> {
  const members = new Map<string, { 4: string[]; 6: string[] }>();
  if (groupIds.length === 0) return members;
  const fixed = await db
    .selectFrom('security_group_port_bindings as b')
    .innerJoin('ip_allocations as a', 'a.port_id', 'b.port_id')
    .select(['b.security_group_id as group_id', 'a.ip_address as address'])
    .where('b.security_group_id', 'in', groupIds)
    .execute();
  const pairs = await db
    .selectFrom('security_group_port_bindings as b')
    .innerJoin('port_allowed_address_pairs as p', 'p.port_id', 'b.port_id')
    .select(['b.security_group_id as group_id', 'p.ip_address as address'])
    .where('b.security_group_id', 'in', groupIds)
    .execute();
  for (const { group_id, address } of [...fixed, ...pairs]) {
    const prefix = asPrefix(address);
    if (!prefix) continue;
    const entry = members.get(group_id) ?? { 4: [], 6: [] };
    if (!entry[prefix.version].includes(prefix.text)) entry[prefix.version].push(prefix.text);
    members.set(group_id, entry);
  }
  for (const entry of members.values()) {
    entry[4].sort();
    entry[6].sort();
  }
  return members;
}

/**
 * The rules the datapath applies to `portId`; empty when the port has no groups. (A port with port
 * security off gets no filtering at all: the caller says so with port_security_enabled.)
 */
export async function portSecurityRules(db: Db, portId: string): Promise<VifSecurityRule[]> {
  const rules = await db
    .selectFrom('security_group_port_bindings as b')
    .innerJoin('security_group_rules as r', 'r.security_group_id', 'b.security_group_id')
    .selectAll('r')
    .where('b.port_id', '=', portId)
    .orderBy('r.security_group_id')
    .orderBy('r.created_at')
    .orderBy('r.id')
    .execute();
  const remoteGroups = [...new Set(rules.flatMap((r) => (r.remote_group_id ? [r.remote_group_id] : [])))];
  const members = await memberPrefixes(db, remoteGroups);
  return rules.map((r) => {
    const version = r.ethertype === 'IPv6' ? 6 : 4;
    let remote: string[] | null = null;
    if (r.remote_ip_prefix) remote = [asPrefix(r.remote_ip_prefix)?.text ?? r.remote_ip_prefix];
    else if (r.remote_group_id) remote = members.get(r.remote_group_id)?.[version] ?? [];
    return {
      direction: r.direction === 'egress' ? 'egress' : 'ingress',
      ethertype: version === 6 ? 'IPv6' : 'IPv4',
      protocol: r.protocol,
      port_range_min: r.port_range_min,
      port_range_max: r.port_range_max,
      remote_prefixes: remote,
    };
  });
}

/**
 * Which ports a change reaches, beyond the ports changed themselves: what Neutron's agents learn of
 * through its security group RPC. A group's rules apply to every port bound to it; a port's addresses
 * and membership are seen by every port whose groups have rules naming one of its groups as remote
 * group (those rules are expanded into member addresses on the hosts).
 */
import type { Db } from '../common/db/database.ts';

function unique(ids: Iterable<string>): string[] {
  return [...new Set(ids)];
}

/** The groups bound to the ports. */
export async function groupsOfPorts(db: Db, portIds: readonly string[]): Promise<string[]> {
  if (!portIds.length) return [];
  const rows = await db
    .selectFrom('security_group_port_bindings')
    .select('security_group_id')
    .where('port_id', 'in', [...portIds])
    .execute();
  return unique(rows.map((r) => r.security_group_id));
}

/** The ports bound to any of the groups. */
export async function portsOfGroups(db: Db, groupIds: readonly string[]): Promise<string[]> {
  if (!groupIds.length) return [];
  const rows = await db
    .selectFrom('security_group_port_bindings')
    .select('port_id')
    .where('security_group_id', 'in', [...groupIds])
    .execute();
  return unique(rows.map((r) => r.port_id));
}

/** The ports whose groups have a rule naming one of `groupIds` as its remote group. */
export async function portsWatchingGroups(db: Db, groupIds: readonly string[]): Promise<string[]> {
  if (!groupIds.length) return [];
  const rows = await db
    .selectFrom('security_group_rules as r')
    .innerJoin('security_group_port_bindings as b', 'b.security_group_id', 'r.security_group_id')
    .select('b.port_id')
    .where('r.remote_group_id', 'in', [...groupIds])
    .execute();
  return unique(rows.map((r) => r.port_id));
}

/**
 * The ports affected when the ports' addresses or memberships change: the ports themselves and those
 * watching any group they were (`formerGroups`) or are now in.
 */
export async function portsSeeingPorts(
  db: Db,
  portIds: readonly string[],
  formerGroups: readonly string[] = [],
): Promise<string[]> {
  const groups = unique([...formerGroups, ...(await groupsOfPorts(db, portIds))]);
  return unique([...portIds, ...(await portsWatchingGroups(db, groups))]);
}

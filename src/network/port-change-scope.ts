/**
 * Which ports a change reaches, beyond the ports changed themselves: a group's rules apply to every port
 * bound to it. A port's addresses and membership reach the hosts of the ports whose rules name one of its
 * groups as remote group through member-notices.ts.
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

/** Names for `?include_names` of role assignment listings, fetched in one query per kind. */
import type { Db } from '../../../common/db/database.ts';
import type { TargetKind } from './assignments.ts';
import { listDomains } from './domains.ts';
import { listRoles } from './roles.ts';

interface DomainRef {
  id: string;
  name: string;
}

export interface AssignmentNames {
  users: Map<string, { name: string; domain: DomainRef }>;
  projects: Map<string, { name: string; domain: DomainRef }>;
  domains: Map<string, { name: string }>;
  roles: Map<string, { name: string }>;
}

export async function assignmentNames(
  db: Db,
  entries: readonly { userId: string; kind: TargetKind; targetId: string }[],
): Promise<AssignmentNames> {
  const domains = new Map((await listDomains(db, {})).map((d) => [d.id, { name: d.name }]));
  const domainRef = (id: string): DomainRef => ({ id, name: domains.get(id)?.name ?? '' });
  const userIds = [...new Set(entries.map((e) => e.userId))];
  const projectIds = [...new Set(entries.filter((e) => e.kind === 'project').map((e) => e.targetId))];
  const users = userIds.length
    ? await db.selectFrom('users').select(['id', 'name', 'domain_id']).where('id', 'in', userIds).execute()
    : [];
  const projects = projectIds.length
    ? await db.selectFrom('projects').select(['id', 'name', 'domain_id']).where('id', 'in', projectIds).execute()
    : [];
  return {
    users: new Map(users.map((u) => [u.id, { name: u.name, domain: domainRef(u.domain_id) }])),
    projects: new Map(projects.map((p) => [p.id, { name: p.name, domain: domainRef(p.domain_id) }])),
    domains,
    roles: new Map((await listRoles(db)).map((r) => [r.id, { name: r.name }])),
  };
}

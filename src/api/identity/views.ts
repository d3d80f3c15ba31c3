/** The JSON shapes of identity resources, as Keystone renders them. */
import type { DomainRow } from './store/domains.ts';
import type { ProjectRow } from './store/projects.ts';
import type { RoleRow } from './store/roles.ts';
import type { UserRow } from './store/users.ts';

export function domainView(base: string, d: DomainRow) {
  return {
    id: d.id,
    name: d.name,
    description: d.description ?? '',
    enabled: d.enabled === 1,
    tags: [],
    options: {},
    links: { self: `${base}/domains/${d.id}` },
  };
}

export function projectView(base: string, p: ProjectRow) {
  return {
    id: p.id,
    name: p.name,
    domain_id: p.domain_id,
    description: p.description ?? '',
    enabled: p.enabled === 1,
    // A top-level project's parent is its domain (projects acting as domains, Keystone 3.6+).
    parent_id: p.parent_id ?? p.domain_id,
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `${base}/projects/${p.id}` },
  };
}

export function userView(base: string, u: UserRow) {
  return {
    id: u.id,
    name: u.name,
    domain_id: u.domain_id,
    enabled: u.enabled === 1,
    password_expires_at: null,
    options: {},
    // Optional attributes appear only when set, as Keystone's "extra" attributes do.
    ...(u.email !== null ? { email: u.email } : {}),
    ...(u.description !== null ? { description: u.description } : {}),
    ...(u.default_project_id !== null ? { default_project_id: u.default_project_id } : {}),
    links: { self: `${base}/users/${u.id}` },
  };
}

export function roleView(base: string, r: RoleRow) {
  return {
    id: r.id,
    name: r.name,
    domain_id: r.domain_id,
    description: r.description,
    options: {},
    links: { self: `${base}/roles/${r.id}` },
  };
}

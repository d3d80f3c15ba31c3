/** The `{"token": {...}}` body of POST and GET /v3/auth/tokens. */
import type { TokenInfo } from '../auth/token-service.ts';
import type { CatalogService } from './catalog.ts';

/** Keystone writes token times with microseconds: `2026-11-21T09:38:55.123000Z`. */
export function keystoneTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** `catalog` is left out for unscoped tokens (as Keystone does) and when the client asked `?nocatalog`. */
export function tokenBody(
  info: TokenInfo,
  catalog: readonly CatalogService[] | null,
): { token: Record<string, unknown> } {
  const token: Record<string, unknown> = {
    methods: info.methods,
    user: {
      id: info.userId,
      name: info.userName,
      domain: { id: info.userDomainId, name: info.userDomainName },
      password_expires_at: null,
    },
    audit_ids: info.auditIds,
    expires_at: keystoneTime(info.expiresAt),
    issued_at: keystoneTime(info.issuedAt),
  };
  const scoped = info.projectId !== null || info.domainId !== null;
  if (info.projectId !== null) {
    token['project'] = {
      id: info.projectId,
      name: info.projectName,
      domain: { id: info.projectDomainId, name: info.projectDomainName },
    };
    token['is_domain'] = false;
  } else if (info.domainId !== null) {
    token['domain'] = { id: info.domainId, name: info.domainName };
  }
  if (scoped) {
    token['roles'] = info.roles.map((r) => ({ id: r.id, name: r.name }));
    if (catalog) token['catalog'] = catalog;
  }
  return { token };
}

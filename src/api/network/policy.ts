/**
 * The network API's share of Neutron's default policy that lives above the service library: which
 * project a new resource belongs to, admin-only attributes on create and update, and attributes only
 * an admin may read (Neutron leaves them out of the body for others).
 */
import type { RequestContext } from '../../common/context.ts';
import { HTTPBadRequest, policyRefused } from '../../network/errors.ts';
import { requireProjectScope } from '../policy.ts';

/** `project_id` of a new resource: the caller's own unless an admin names another. */
export function projectOfNew(ctx: RequestContext, attrs: Record<string, unknown>): string {
  const own = ctx.isAdmin ? (ctx.projectId ?? '') : requireProjectScope(ctx);
  const requested = attrs['project_id'] as string | undefined;
  if (requested === undefined || requested === own) return own;
  if (!ctx.isAdmin) {
    throw new HTTPBadRequest(
      "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges",
    );
  }
  return requested;
}

/** Refuses a non-admin who sets any of `attributes`, naming the rule `<action>:<attribute>`. */
export function adminOnlyAttributes(
  ctx: RequestContext,
  action: string,
  attrs: Record<string, unknown>,
  attributes: readonly string[],
): void {
  if (ctx.isAdmin) return;
  const given = attributes.find((a) => a in attrs);
  if (given !== undefined) throw policyRefused(`${action}:${given}`);
}

/** The view without the attributes only admins read. */
export function withoutAdminOnly<T extends object>(ctx: RequestContext, view: T, attributes: readonly string[]): T {
  if (ctx.isAdmin) return view;
  const copy = { ...view } as Record<string, unknown>;
  for (const a of attributes) delete copy[a];
  return copy as T;
}

/**
 * The network API's share of Neutron's default policy that lives above the service library: which
 * project a new resource belongs to, admin-only attributes on create and update, and attributes only
 * an admin may read (Neutron leaves them out of the body for others).
 */
import type { RequestContext } from '../../common/context.ts';
import { networkAllows, requireNetworkPolicy } from '../../network/access.ts';
import { HTTPBadRequest } from '../../network/errors.ts';
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

/** Refuses, naming the rule, a request that sets one of `attributes` its `<action>:<attribute>` rule forbids. */
export function adminOnlyAttributes(
  ctx: RequestContext,
  action: string,
  attrs: Record<string, unknown>,
  attributes: readonly string[],
): void {
  for (const a of attributes) if (a in attrs) requireNetworkPolicy(ctx, `${action}:${a}`);
}

/** The view without the attributes whose `<action>:<attribute>` rule does not let the caller read them. */
export function withoutAdminOnly<T extends object>(
  ctx: RequestContext,
  action: string,
  view: T,
  attributes: readonly string[],
): T {
  const hidden = attributes.filter((a) => !networkAllows(ctx, `${action}:${a}`));
  if (hidden.length === 0) return view;
  const copy = { ...view } as Record<string, unknown>;
  for (const a of hidden) delete copy[a];
  return copy as T;
}

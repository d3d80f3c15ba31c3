/**
 * Authorization as the Compute API does it: every action is checked against its Nova policy rule (see
 * src/api/policy/), refused with Nova's message; and a member sees only its own project's resources,
 * an administrator (the `context_is_admin` rule) every project's.
 */
import type { RequestContext } from '../common/context.ts';
import { Forbidden } from '../common/errors.ts';
import { allowed, type Target } from './policy/index.ts';

/** Refuses unless the compute rule allows the caller on `target` (default: its own project). */
export function authorize(ctx: RequestContext, rule: string, target?: Target): void {
  if (!allowed('compute', ctx, rule, target)) throw new Forbidden(`Policy doesn't allow ${rule} to be performed.`);
}

/** Whether the compute rule allows the caller on `target`, for checks that change a view instead of refusing. */
export function permits(ctx: RequestContext, rule: string, target?: Target): boolean {
  return allowed('compute', ctx, rule, target);
}

/** The target of an action on a resource owned by a project (and a user): Nova's policy target. */
export function ownedBy(resource: { project_id: string | null; user_id?: string | null }): Target {
  return { project_id: resource.project_id, user_id: resource.user_id ?? null };
}

/** True when `ctx` may see a resource owned by `projectId`. */
export function ownsOrAdmin(ctx: RequestContext, projectId: string | null): boolean {
  return ctx.isAdmin || (projectId !== null && ctx.projectId === projectId);
}

/** Refuses a token that is not scoped to a project: compute and image need one. */
export function requireProjectScope(ctx: RequestContext): string {
  if (!ctx.projectId) throw new Forbidden('This action needs a project-scoped token; authenticate with a project.');
  return ctx.projectId;
}

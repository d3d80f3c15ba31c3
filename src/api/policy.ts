/**
 * Authorization rules shared by the APIs, mirroring the defaults of Nova's, Keystone's and Glance's
 * policies: admin-only actions, and project-scoped resources a member may touch only in its own project.
 */
import type { RequestContext } from '../common/context.ts';
import { Forbidden } from '../common/errors.ts';

/** Refuses anyone without the admin role, with the message Nova gives. */
export function requireAdmin(ctx: RequestContext, action: string): void {
  if (!ctx.isAdmin) throw new Forbidden(`Policy doesn't allow ${action} to be performed.`);
}

/** True when `ctx` may act on a resource owned by `projectId`. */
export function ownsOrAdmin(ctx: RequestContext, projectId: string | null): boolean {
  return ctx.isAdmin || (projectId !== null && ctx.projectId === projectId);
}

/** Refuses a token that is not scoped to a project: compute and image need one. */
export function requireProjectScope(ctx: RequestContext): string {
  if (!ctx.projectId) throw new Forbidden('This action needs a project-scoped token; authenticate with a project.');
  return ctx.projectId;
}

/**
 * Who sees what, as Neutron's default policy has it: an admin everything; anyone else their project's
 * resources plus shared networks and external networks (and the subnets of those). Whatever a caller
 * cannot see is reported as not found, never as forbidden, so ids of other projects leak nothing.
 */
import type { RequestContext } from '../common/context.ts';
import type { NetworksTable } from '../common/db/schema.ts';

export function ownsOrAdmin(ctx: RequestContext, projectId: string): boolean {
  return ctx.isAdmin || ctx.projectId === projectId;
}

export function canSeeNetwork(
  ctx: RequestContext,
  network: Pick<NetworksTable, 'project_id' | 'shared' | 'router_external'>,
): boolean {
  return ownsOrAdmin(ctx, network.project_id) || network.shared === 1 || network.router_external === 1;
}

/** The project a new resource belongs to: the caller's, or the one an admin names. */
export function owningProject(ctx: RequestContext, requested: string | undefined): string {
  return requested ?? ctx.projectId ?? '';
}

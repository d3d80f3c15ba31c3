/**
 * Who sees and does what, by Neutron's policy rules (policy-defaults.ts): during an API request the
 * operator's policy in force, otherwise (a service's own work) the defaults. An admin sees everything;
 * anyone else their project's resources plus shared networks and external networks (and the subnets
 * of those). Whatever a caller cannot see is reported as not found, never as forbidden, so ids of other
 * projects leak nothing.
 */
import type { RequestContext } from '../common/context.ts';
import type { NetworksTable } from '../common/db/schema.ts';
import { activePolicyEnforcer, credentialsOf } from '../common/policy/active.ts';
import { evaluate, parseRules, type Target } from '../common/policy/enforcer.ts';
import { policyRefused } from './errors.ts';
import { NETWORK_BASE_RULES, NETWORK_RULES } from './policy-defaults.ts';

const DEFAULTS = parseRules(Object.fromEntries([...NETWORK_BASE_RULES, ...NETWORK_RULES].map(([n, c]) => [n, c])));

/** Whether Neutron's rule `rule` allows the caller on `target` (default: a resource of its own project). */
export function networkAllows(
  ctx: RequestContext,
  rule: string,
  target: Target = { project_id: ctx.projectId },
): boolean {
  const creds = credentialsOf(ctx);
  const enforcer = activePolicyEnforcer();
  if (enforcer) return enforcer.allows('network', rule, target, creds);
  const check = DEFAULTS.get(rule);
  if (!check) throw new Error(`network policy rule ${rule} is not registered`);
  return evaluate(check, DEFAULTS, target, creds);
}

/** Refuses with Neutron's message unless `rule` allows the caller on `target`. */
export function requireNetworkPolicy(ctx: RequestContext, rule: string, target?: Target): void {
  if (!networkAllows(ctx, rule, target)) throw policyRefused(rule);
}

/** Whether `get_<resource>` lets the caller see a resource of `projectId`. */
export function ownsOrAdmin(ctx: RequestContext, projectId: string, rule = 'get_port'): boolean {
  return networkAllows(ctx, rule, { project_id: projectId });
}

export function canSeeNetwork(
  ctx: RequestContext,
  network: Pick<NetworksTable, 'project_id' | 'shared' | 'router_external'>,
): boolean {
  return networkAllows(ctx, 'get_network', {
    project_id: network.project_id,
    shared: network.shared === 1,
    'router:external': network.router_external === 1,
  });
}

/** The project a new resource belongs to: the caller's, or the one an admin names. */
export function owningProject(ctx: RequestContext, requested: string | undefined): string {
  return requested ?? ctx.projectId ?? '';
}

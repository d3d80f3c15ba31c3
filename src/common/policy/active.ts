/**
 * The policy in force for the request being handled, carried in async context: the API server sets it
 * around each handler, so libraries below the APIs (network/) enforce the operator's rules without a
 * parameter for them. Outside a request there is none, and such libraries fall back to their defaults.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestContext } from '../context.ts';
import type { Credentials, Target } from './enforcer.ts';

export interface PolicyEnforcer {
  /** Whether the rule `name` of `api` allows `creds` on `target`. */
  allows(api: string, name: string, target: Target, creds: Credentials): boolean;
}

const active = new AsyncLocalStorage<PolicyEnforcer>();

export function withPolicy<T>(policy: PolicyEnforcer, fn: () => T): T {
  return active.run(policy, fn);
}

export function activePolicyEnforcer(): PolicyEnforcer | undefined {
  return active.getStore();
}

/** What oslo.policy's checks see of the caller. */
export function credentialsOf(ctx: RequestContext, extra: Readonly<Record<string, unknown>> = {}): Credentials {
  return {
    user_id: ctx.userId,
    project_id: ctx.projectId,
    roles: ctx.roles,
    is_admin: ctx.isAdmin,
    ...extra,
  };
}

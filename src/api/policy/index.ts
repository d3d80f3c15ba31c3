/**
 * Policy enforcement as the API handlers use it: `allowed(api, ctx, rule, target)` asks the Policy of
 * the API server handling the request (carried in async context, so the service library the handlers
 * call needs no parameter for it); outside a request, the registered defaults answer.
 */
import { isAbsolute, join } from 'node:path';
import { existsSync } from 'node:fs';
import type { RequestContext } from '../../common/context.ts';
import type { Target } from '../../common/policy/enforcer.ts';
import { activePolicyEnforcer, credentialsOf, withPolicy, type PolicyEnforcer } from '../../common/policy/active.ts';
import { Policy } from './policy.ts';
import type { PolicyApi } from './registry.ts';

export { Policy, UnregisteredRule } from './policy.ts';
export { PolicyFileError } from './policy-file.ts';
export type { PolicyApi } from './registry.ts';
export type { Target } from '../../common/policy/enforcer.ts';

let defaultsOnly: Policy | undefined;

export { withPolicy, credentialsOf };

/** The Policy of the API server handling the request; outside a request, the registered defaults. */
export function activePolicy(): PolicyEnforcer {
  return activePolicyEnforcer() ?? (defaultsOnly ??= new Policy(null));
}

/** The target of an action on the caller's own project: what Nova passes when there is no resource. */
export function ownTarget(ctx: RequestContext): Target {
  return { project_id: ctx.projectId, user_id: ctx.userId };
}

/** Whether `rule` of `api` allows the caller on `target`; `extra` adds credentials an API knows more of. */
export function allowed(
  api: PolicyApi,
  ctx: RequestContext,
  rule: string,
  target: Target = ownTarget(ctx),
  extra: Readonly<Record<string, unknown>> = {},
): boolean {
  return activePolicy().allows(api, rule, target, credentialsOf(ctx, extra));
}

/**
 * `[oslo_policy] policy_file` as oslo.config finds it: an absolute path as given; a relative one in the
 * directories of the configuration files (the last that has it wins); relative to the working directory
 * when there is no configuration file. A missing file is no error: the defaults apply.
 */
export function resolvePolicyFile(policyFile: string, configDirs: readonly string[]): string {
  if (isAbsolute(policyFile) || configDirs.length === 0) return policyFile;
  const found = [...configDirs].reverse().find((dir) => existsSync(join(dir, policyFile)));
  return join(found ?? configDirs[configDirs.length - 1]!, policyFile);
}

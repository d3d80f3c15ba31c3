/**
 * Identity policy: each operation checked against its Keystone rule (`identity:<action>`, see
 * src/api/policy/defaults/identity.ts), with Keystone's targets (`target.user.id`, `target.project.id`,
 * `target.domain.id`, `target.token.user_id`).
 */
import type { FastifyRequest } from 'fastify';
import { Forbidden } from '../../common/errors.ts';
import { allowed, type Target } from '../policy/index.ts';

export function forbidden(action: string): InstanceType<typeof Forbidden> {
  return new Forbidden(`You are not authorized to perform identity:${action}.`);
}

/** Refuses unless `identity:<action>` allows the caller on `target`; `creds` adds what the token says. */
export function authorize(
  request: FastifyRequest,
  action: string,
  target: Target = {},
  creds: Readonly<Record<string, unknown>> = {},
): void {
  if (!allowed('identity', request.ctx, `identity:${action}`, target, creds)) throw forbidden(action);
}

/** Operations on a user: the rule sees the user as `target.user.id` (identity:get_user and friends). */
export function authorizeOnUser(request: FastifyRequest, userId: string, action: string): void {
  authorize(request, action, { 'target.user.id': userId });
}

/**
 * Identity policy: Keystone's defaults reduced to what Stratus needs. Managing identity is for admins; a
 * user may read itself and the project and domain its token is scoped to.
 */
import type { FastifyRequest } from 'fastify';
import { Forbidden } from '../../common/errors.ts';

export function forbidden(action: string): InstanceType<typeof Forbidden> {
  return new Forbidden(`You are not authorized to perform identity:${action}.`);
}

export function requireAdmin(request: FastifyRequest, action: string): void {
  if (!request.ctx.isAdmin) throw forbidden(action);
}

/** Admin, or the caller itself (identity:get_user and friends). */
export function requireAdminOrSelf(request: FastifyRequest, userId: string, action: string): void {
  if (!request.ctx.isAdmin && request.ctx.userId !== userId) throw forbidden(action);
}

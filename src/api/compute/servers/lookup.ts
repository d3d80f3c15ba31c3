/**
 * Finding the server a request names. As in Nova, a member only ever sees servers of its own project:
 * another project's server, an unknown id and a malformed id all answer the same 404, so ids of other
 * projects cannot be probed.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { NotFound, type StratusError } from '../../../common/errors.ts';
import { findInstance, type Instance } from '../../../objects/instances.ts';
import { authorize, ownedBy, ownsOrAdmin } from '../../policy.ts';
import { isUuidLike } from '../validate.ts';

export function instanceNotFound(id: string): StratusError {
  return new NotFound(`Instance ${id} could not be found.`);
}

export async function findServer(db: Db, ctx: RequestContext, id: string, includeDeleted = false): Promise<Instance> {
  if (!isUuidLike(id)) throw instanceNotFound(id);
  const instance = await findInstance(db, id, includeDeleted);
  if (!instance || !ownsOrAdmin(ctx, instance.project_id)) throw instanceNotFound(id);
  return instance;
}

/** The server, when the compute policy `rule` allows the caller on it (Nova: 404 first, then 403). */
export async function findServerFor(
  db: Db,
  ctx: RequestContext,
  id: string,
  rule: string,
  includeDeleted = false,
): Promise<Instance> {
  const instance = await findServer(db, ctx, id, includeDeleted);
  authorize(ctx, rule, ownedBy(instance));
  return instance;
}

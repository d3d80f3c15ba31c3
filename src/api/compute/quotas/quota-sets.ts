/**
 * os-quota-sets: a project's limits (or a user's within it, with `?user_id=`), its defaults, the detail
 * with what is in use, and the admin's update and delete. Nova's policy: a project's members read its
 * quotas, admins read and change any project's; anyone reads the defaults.
 */
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../../common/context.ts';
import type { Config } from '../../../common/config/load-config.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest } from '../../../common/errors.ts';
import { authorize } from '../../policy.ts';
import {
  QUOTA_RESOURCES,
  UNLIMITED,
  defaultLimits,
  deleteLimits,
  displayedUsage,
  effectiveLimits,
  quotasEnforced,
  setLimits,
  settableRanges,
  type Counts,
  type QuotaResource,
} from '../../../objects/quotas.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { queryValues, type Query } from '../validate.ts';
import { parseLimitsBody } from './update-body.ts';
import { checkQueryParams, quotaBody, quotaSetResources } from './views.ts';

type Params = { Params: { id: string } };

/** The quota set rule `action` on the project the path names (by default: admins, or that project's own for reads). */
function authorizeQuotas(ctx: RequestContext, action: string, projectId: string): void {
  authorize(ctx, `os_compute_api:os-quota-sets:${action}`, { project_id: projectId });
}

/** Nova asks Keystone whether the project exists; Stratus' identity store is the same database. */
async function verifyProject(db: Db, ctx: RequestContext, projectId: string): Promise<void> {
  if (projectId === ctx.projectId) return;
  const found = await db.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst();
  if (!found) throw new BadRequest(`Project ID ${projectId} is not a valid project.`);
}

/** `user_id` from the query: the first one given, as Nova reads it; null when absent or empty. */
function userIdParam(request: FastifyRequest): string | null {
  return queryValues(request.query as Query, 'user_id')[0] || null;
}

export function registerQuotaSetRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const config = deps.config;

  app.get<Params>('/os-quota-sets/:id', async (request) => {
    const projectId = request.params.id;
    authorizeQuotas(request.ctx, 'show', projectId);
    checkQueryParams(request, ['user_id']);
    await verifyProject(db, request.ctx, projectId);
    const limits = await effectiveLimits(db, config, projectId, userIdParam(request));
    return { quota_set: quotaBody(quotaSetResources(request), limits, projectId) };
  });

  app.get<Params>('/os-quota-sets/:id/detail', async (request) => {
    const projectId = request.params.id;
    authorizeQuotas(request.ctx, 'detail', projectId);
    checkQueryParams(request, ['user_id']);
    await verifyProject(db, request.ctx, projectId);
    const userId = userIdParam(request);
    const [limits, usage] = await Promise.all([
      effectiveLimits(db, config, projectId, userId),
      displayedUsage(db, config, projectId, userId),
    ]);
    // Nova has no reservations since it counts usage; the key stays in the contract, always 0.
    const reserved = quotasEnforced(config) ? 0 : UNLIMITED;
    const detail = Object.fromEntries(
      QUOTA_RESOURCES.map((r) => [r, { in_use: usage[r], limit: limits[r], reserved }]),
    ) as Record<QuotaResource, { in_use: number; limit: number; reserved: number }>;
    return { quota_set: quotaBody(quotaSetResources(request), detail, projectId) };
  });

  app.get<Params>('/os-quota-sets/:id/defaults', async (request) => {
    const projectId = request.params.id;
    authorizeQuotas(request.ctx, 'defaults', projectId);
    await verifyProject(db, request.ctx, projectId);
    return { quota_set: quotaBody(quotaSetResources(request), await defaultLimits(db, config), projectId) };
  });

  app.put<Params>('/os-quota-sets/:id', async (request) => {
    const projectId = request.params.id;
    authorizeQuotas(request.ctx, 'update', projectId);
    checkQueryParams(request, ['user_id']);
    await verifyProject(db, request.ctx, projectId);
    const userId = userIdParam(request);
    const { limits, force } = parseLimitsBody(request.body, 'quota_set', quotaSetResources(request), true);
    if (quotasEnforced(config) && !force) await checkSettable(db, config, projectId, userId, limits);
    await setLimits(db, projectId, userId, limits);
    return { quota_set: quotaBody(quotaSetResources(request), await effectiveLimits(db, config, projectId, userId)) };
  });

  app.delete<Params>('/os-quota-sets/:id', async (request, reply) => {
    const projectId = request.params.id;
    authorizeQuotas(request.ctx, 'delete', projectId);
    checkQueryParams(request, ['user_id']);
    await deleteLimits(db, projectId, userIdParam(request));
    return reply.code(202).send();
  });
}

/**
 * Without `force`, a new limit must lie in the range Nova allows: at least what is in use (and, for a
 * project, what its users' own limits add up to), at most what the project leaves for a user.
 */
async function checkSettable(
  db: Db,
  config: Config,
  projectId: string,
  userId: string | null,
  limits: Counts,
): Promise<void> {
  const ranges = await settableRanges(db, config, projectId, userId);
  const asNumber = (v: number) => (v === UNLIMITED ? Infinity : v);
  for (const [resource, limit] of Object.entries(limits) as [QuotaResource, number][]) {
    const { minimum, maximum } = ranges[resource];
    if (asNumber(limit) < asNumber(minimum)) {
      throw new BadRequest(
        `Quota limit ${limit} for ${resource} must be greater than or equal to already used and reserved ${minimum}.`,
      );
    }
    if (asNumber(limit) > asNumber(maximum)) {
      throw new BadRequest(`Quota limit ${limit} for ${resource} must be less than or equal to ${maximum}.`);
    }
  }
}

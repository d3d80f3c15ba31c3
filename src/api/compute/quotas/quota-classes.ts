/**
 * os-quota-class-sets (admins only): a quota class's limits, its rows over the `[quota]` options. The
 * `default` class is what every project's defaults are (os-quota-sets/{id}/defaults and the limits of
 * a project that has none of its own), as in Nova.
 */
import type { RequestContext } from '../../../common/context.ts';
import { BadRequest } from '../../../common/errors.ts';
import { authorize } from '../../policy.ts';
import { classLimits, setClassLimits } from '../../../objects/quotas.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { parseLimitsBody } from './update-body.ts';
import { quotaBody, quotaClassResources, quotaClassSettable } from './views.ts';

type Params = { Params: { id: string } };

function authorizeClass(ctx: RequestContext, action: 'show' | 'update'): void {
  authorize(ctx, `os_compute_api:os-quota-class-sets:${action}`);
}

export function registerQuotaClassRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get<Params>('/os-quota-class-sets/:id', async (request) => {
    authorizeClass(request.ctx, 'show');
    const limits = await classLimits(db, deps.config, request.params.id);
    return { quota_class_set: quotaBody(quotaClassResources(request), limits, request.params.id) };
  });

  app.put<Params>('/os-quota-class-sets/:id', async (request) => {
    authorizeClass(request.ctx, 'update');
    const className = request.params.id;
    if (className.length > 255) throw new BadRequest('quota_class_name has more than 255 characters.');
    const { limits } = parseLimitsBody(request.body, 'quota_class_set', quotaClassSettable(request), false);
    await setClassLimits(db, className, limits);
    const shown = await classLimits(db, deps.config, className);
    return { quota_class_set: quotaBody(quotaClassResources(request), shown) };
  });
}

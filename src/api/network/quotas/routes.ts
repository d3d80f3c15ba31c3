/**
 * /v2.0/quotas: Neutron's quota API. An admin reads, sets and resets any project's limits; a member
 * reads its own project's. `details` adds what is used (counted now) beside each limit.
 */
import { Forbidden } from '../../../common/errors.ts';
import {
  deleteQuotaLimits,
  NETWORK_QUOTA_DEFAULTS,
  NETWORK_QUOTA_RESOURCES,
  quotaLimits,
  quotaUsage,
  setQuotaLimits,
  type NetworkQuotaResource,
} from '../../../network/quotas.ts';
import type { RequestContext } from '../../../common/context.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { parseResourceBody, type AttributeSpecs, type Converted } from '../attributes.ts';
import type { NetworkApiDeps } from '../deps.ts';
import type { NetworkApiModule } from '../module.ts';
import { requireNetworkPolicy } from '../../../network/access.ts';

function limitValue(value: unknown): Converted {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n))
    return { ok: false, reason: `'${String(value)}' is not an integer` };
  if (n < -1) return { ok: false, reason: `'${n}' is too small - must be at least '-1'` };
  if (n > 2 ** 31 - 1) return { ok: false, reason: `'${n}' is too large - must be no larger than '${2 ** 31 - 1}'` };
  return { ok: true, value: n };
}

const SPECS: AttributeSpecs = Object.fromEntries(
  NETWORK_QUOTA_RESOURCES.map((r) => [r, { allowPost: false, allowPut: true, convert: limitValue }]),
);

function readableBy(ctx: RequestContext, projectId: string): void {
  if (!ctx.isAdmin && ctx.projectId !== projectId) {
    throw new Forbidden('Non-admin is not authorized to access quotas for another project');
  }
}

function register(app: ApiServer, { database }: NetworkApiDeps): void {
  const db = database.db;
  type P = { Params: { project_id: string } };

  app.get('/v2.0/quotas', async (request) => {
    requireNetworkPolicy(request.ctx, 'get_quota');
    const rows = await db.selectFrom('network_quotas').select('project_id').distinct().execute();
    const quotas = [];
    for (const { project_id } of rows) {
      quotas.push({ ...(await quotaLimits(db, project_id)), project_id, tenant_id: project_id });
    }
    return { quotas };
  });

  app.get<P>('/v2.0/quotas/:project_id', async (request) => {
    readableBy(request.ctx, request.params.project_id);
    return { quota: await quotaLimits(db, request.params.project_id) };
  });

  app.get<P>('/v2.0/quotas/:project_id/default', async (request) => {
    readableBy(request.ctx, request.params.project_id);
    return { quota: { ...NETWORK_QUOTA_DEFAULTS } };
  });

  app.get<P>('/v2.0/quotas/:project_id/details', async (request) => {
    const project = request.params.project_id;
    readableBy(request.ctx, project);
    const limits = await quotaLimits(db, project);
    const quota: Record<string, { limit: number; used: number; reserved: number }> = {};
    for (const resource of NETWORK_QUOTA_RESOURCES) {
      quota[resource] = { limit: limits[resource], used: await quotaUsage(db, project, resource), reserved: 0 };
    }
    return { quota };
  });

  app.put<P>('/v2.0/quotas/:project_id', async (request) => {
    requireNetworkPolicy(request.ctx, 'update_quota', { project_id: request.params.project_id });
    const attrs = parseResourceBody('quota', request.body, SPECS, 'PUT');
    await setQuotaLimits(db, request.params.project_id, attrs as Partial<Record<NetworkQuotaResource, number>>);
    return { quota: await quotaLimits(db, request.params.project_id) };
  });

  app.delete<P>('/v2.0/quotas/:project_id', async (request, reply) => {
    requireNetworkPolicy(request.ctx, 'delete_quota', { project_id: request.params.project_id });
    await deleteQuotaLimits(db, request.params.project_id);
    return reply.code(204).send();
  });
}

export const quotasModule: NetworkApiModule = {
  resources: [{ name: 'quota', collection: 'quotas' }],
  extensions: [
    {
      alias: 'quotas',
      name: 'Quota management support',
      description: 'Admins read and set the network quotas of each project.',
      updated: '2012-07-29T10:00:00-00:00',
    },
    {
      alias: 'quota_details',
      name: 'Quota details management support',
      description: 'Quotas show what each project uses beside its limits.',
      updated: '2017-02-10T10:00:00-00:00',
    },
  ],
  register,
};

/**
 * os-simple-tenant-usage: what each project's servers used over a period (admin: every project; a member:
 * its own). The servers are those launched before the period's end and not terminated before its start,
 * deleted ones included; they are read a page at a time (`[DEFAULT] osapi_max_limit`, and from 2.40 the
 * client's `limit` and `marker`) sorted by project and uuid, as Nova pages them.
 */
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest } from '../../../common/errors.ts';
import { authorize } from '../../policy.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { rejectUnknownQuery } from '../query-checks.ts';
import { queryValues, type Query } from '../validate.ts';
import { parseUsageTime, storedMicros, tenantUsages, type UsageInstance } from './usage-report.ts';

const COLLECTION = 'os-simple-tenant-usage';

interface Period {
  start: number;
  stop: number;
  detailed: boolean;
  now: number;
}

/** start, end and detailed as Nova reads them: the first value of each, checked before `end` is capped at now. */
function periodOf(query: Query): Period {
  // Nova reads the clock for a missing start, again for a missing end, and again for the cap: each a
  // moment later than the one before, so no parameters at all make a period that is not reversed.
  const clock = Date.now() * 1000;
  const start = parseUsageTime(queryValues(query, 'start')[0], clock);
  let stop = parseUsageTime(queryValues(query, 'end')[0], clock + 1);
  if (!(start < stop)) {
    throw new BadRequest('Invalid start time. The start time cannot occur after the end time.');
  }
  const now = clock + 2;
  if (stop > now) stop = now;
  return { start, stop, detailed: queryValues(query, 'detailed')[0] === '1', now };
}

async function instancesInPeriod(
  db: Db,
  period: Period,
  projectId: string | null,
  limit: number,
  marker: string | undefined,
): Promise<UsageInstance[]> {
  let query = db
    .selectFrom('instances')
    .select([
      'uuid',
      'display_name',
      'project_id',
      'vm_state',
      'flavor',
      'vcpus',
      'memory_mb',
      'root_gb',
      'ephemeral_gb',
      'launched_at',
      'terminated_at',
    ])
    .where((eb) =>
      eb.or([eb('terminated_at', 'is', null), eb('terminated_at', '>', new Date(period.start / 1000).toISOString())]),
    )
    .where('launched_at', '<', new Date(period.stop / 1000).toISOString());
  if (projectId !== null) query = query.where('project_id', '=', projectId);
  if (marker !== undefined) {
    // The marker may be any instance, deleted ones too, as oslo.db's paging looks it up.
    const at = await db
      .selectFrom('instances')
      .select(['project_id', 'uuid'])
      .where('uuid', '=', marker)
      .executeTakeFirst();
    if (!at) throw new BadRequest(`Marker ${marker} could not be found.`);
    query = query.where((eb) =>
      eb.or([
        eb('project_id', '>', at.project_id),
        eb.and([eb('project_id', '=', at.project_id), eb('uuid', '>', at.uuid)]),
      ]),
    );
  }
  const rows = await query.orderBy('project_id').orderBy('uuid').limit(limit).execute();
  return rows.map((row) => ({
    uuid: row.uuid,
    display_name: row.display_name,
    project_id: row.project_id,
    vm_state: row.vm_state,
    flavorName: flavorName(row.flavor),
    vcpus: row.vcpus,
    memory_mb: row.memory_mb,
    local_gb: row.root_gb + row.ephemeral_gb,
    launchedAt: storedMicros(row.launched_at!),
    terminatedAt: row.terminated_at === null ? null : storedMicros(row.terminated_at),
  }));
}

/** The name in the flavor snapshot the instance was built with ('' if it has none, as Nova bills it). */
function flavorName(snapshot: string): string {
  try {
    const name = (JSON.parse(snapshot) as { name?: unknown }).name;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}

export function registerUsageRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;

  /** The period, page and the query's checks of one request; paging (and links) exist from 2.40. */
  const read = async (request: FastifyRequest, projectId: string | null, allowed: readonly string[]) => {
    const query = request.query as Query;
    const paged = atLeast(request, '2.40');
    if (atLeast(request, '2.75')) rejectUnknownQuery(query, paged ? [...allowed, 'limit', 'marker'] : allowed);
    const period = periodOf(query);
    const page = paged ? pageParams(query, maxLimit) : { limit: maxLimit, marker: undefined };
    const instances = await instancesInPeriod(db, period, projectId, page.limit, page.marker);
    return { paged, period, instances };
  };

  const links = (request: FastifyRequest, count: number, lastId: string | undefined, collection: string) =>
    collectionLinks(request, count, lastId, collection, maxLimit);

  app.get('/os-simple-tenant-usage', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-simple-tenant-usage:list');
    const { paged, period, instances } = await read(request, null, ['start', 'end', 'detailed']);
    const { usages, servers } = tenantUsages(instances, period.start, period.stop, period.now, period.detailed);
    const body: Record<string, unknown> = { tenant_usages: usages };
    if (paged) {
      const next = links(request, servers.length, servers[servers.length - 1]?.instance_id, COLLECTION);
      if (next.length) body['tenant_usages_links'] = next;
    }
    return body;
  });

  app.get<{ Params: { tenant_id: string } }>('/os-simple-tenant-usage/:tenant_id', async (request) => {
    const tenantId = request.params.tenant_id;
    authorize(request.ctx, 'os_compute_api:os-simple-tenant-usage:show', { project_id: tenantId });
    const { paged, period, instances } = await read(request, tenantId, ['start', 'end']);
    const { usages, servers } = tenantUsages(instances, period.start, period.stop, period.now, true);
    // A project without servers in the period has an empty object, not zeros.
    const body: Record<string, unknown> = { tenant_usage: usages[0] ?? {} };
    if (paged) {
      const collection = `${COLLECTION}/${tenantId}`;
      const next = links(request, servers.length, servers[servers.length - 1]?.instance_id, collection);
      if (next.length) body['tenant_usage_links'] = next;
    }
    return body;
  });
}

/**
 * GET /os-migrations (admin, or a project manager) and GET /servers/{id}/migrations[/{id}] (2.23): the moves of
 * servers between hosts, with Nova's filters, paging (2.59), changes-before (2.66) and user/project
 * (2.80), as Nova shows them. The server's list shows its live migrations under way, with their transfer
 * progress; force_complete (2.22) and abort (2.24) of one are in servers/live-migration.ts.
 */
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import {
  listMigrations,
  MigrationMarkerNotFound,
  type MigrationFilter,
  type MigrationPage,
  type MigrationRecord,
} from '../../../objects/migrations.ts';
import type { Instance } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { resourceLinks } from '../links.ts';
import { atLeast, requireVersion } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { queryTime, rejectRepeatedQuery, rejectUnknownQuery } from '../query-checks.ts';
import { naiveTime } from '../timestamps.ts';
import { queryValue, type Query } from '../validate.ts';
import { findServerFor } from '../servers/lookup.ts';

const FILTERS = ['hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type'];
const LIVE_IN_PROGRESS = ['queued', 'preparing', 'running', 'post-migrating'];

/** Where a migration goes from and to: shown to admins only, null for others. */
function hostFields(m: MigrationRecord, withHosts: boolean): Record<string, string | null> {
  return {
    source_compute: withHosts ? m.source_compute : null,
    source_node: withHosts ? m.source_node : null,
    dest_compute: withHosts ? m.dest_compute : null,
    dest_node: withHosts ? m.dest_node : null,
    dest_host: withHosts ? m.dest_host : null,
  };
}

/** What both migration views gained in later microversions: the uuid (2.59), the owner (2.80). */
function laterFields(request: FastifyRequest, m: MigrationRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (atLeast(request, '2.59')) fields['uuid'] = m.uuid;
  if (atLeast(request, '2.80')) {
    fields['user_id'] = m.user_id;
    fields['project_id'] = m.project_id;
  }
  return fields;
}

/**
 * The checks GET /servers/{id}/migrations[/{id}] start with, in Nova's order: the microversion (2.23),
 * the server (404), then the policy `rule` on it (by default an admin, or a manager of its project).
 */
async function serverForMigrations(
  db: Db,
  request: FastifyRequest<{ Params: { id: string } }>,
  rule: string,
): Promise<Instance> {
  requireVersion(request, '2.23');
  return findServerFor(db, request.ctx, request.params.id, rule);
}

/** One migration as Nova shows it at the request's version; hosts only for admins. */
function migrationView(request: FastifyRequest, m: MigrationRecord, withHosts: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: m.id,
    instance_uuid: m.instance_uuid,
    status: m.status,
    ...hostFields(m, withHosts),
    old_instance_type_id: m.old_instance_type_id,
    new_instance_type_id: m.new_instance_type_id,
    created_at: naiveTime(m.created_at),
    updated_at: naiveTime(m.updated_at),
  };
  if (atLeast(request, '2.23')) {
    view['migration_type'] = m.migration_type;
    // A live migration under way can be watched or aborted through the server's migrations.
    if (m.migration_type === 'live-migration' && LIVE_IN_PROGRESS.includes(m.status)) {
      view['links'] = resourceLinks(request, `servers/${m.instance_uuid}/migrations`, String(m.id));
    }
  }
  return { ...view, ...laterFields(request, m) };
}

/** The filter and page of GET /os-migrations, checked as Nova's query schemas of the request's version. */
function listRequest(
  request: FastifyRequest,
  maxLimit: number,
): { filter: MigrationFilter; page: MigrationPage; paged: boolean } {
  const query = request.query as Query;
  const paged = atLeast(request, '2.59');
  const filter: MigrationFilter = {};
  const text = (name: string) => queryValue(query, name);
  const set = <K extends keyof MigrationFilter>(key: K, value: MigrationFilter[K] | undefined) => {
    if (value !== undefined) filter[key] = value;
  };
  set('instanceUuid', text('instance_uuid'));
  set('host', text('host'));
  set('sourceCompute', text('source_compute'));
  set('status', text('status'));
  set('migrationType', text('migration_type'));
  if (!paged) return { filter, page: {}, paged };

  const allowed = [...FILTERS, 'limit', 'marker', 'changes-since'];
  if (atLeast(request, '2.66')) allowed.push('changes-before');
  if (atLeast(request, '2.80')) allowed.push('user_id', 'project_id');
  rejectUnknownQuery(query, allowed);
  rejectRepeatedQuery(
    query,
    allowed.filter((name) => !FILTERS.includes(name)),
  );
  set('changesSince', queryTime(query, 'changes-since'));
  if (atLeast(request, '2.66')) {
    set('changesBefore', queryTime(query, 'changes-before'));
    if (filter.changesSince && filter.changesBefore && filter.changesBefore < filter.changesSince) {
      throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
    }
  }
  if (atLeast(request, '2.80')) {
    set('userId', text('user_id'));
    set('projectId', text('project_id'));
  }
  return { filter, page: pageParams(query, maxLimit), paged };
}

export function registerMigrationRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;

  app.get('/os-migrations', async (request) => {
    const ctx = request.ctx;
    authorize(ctx, 'os_compute_api:os-migrations:index');
    const { filter, page, paged } = listRequest(request, maxLimit);
    // Another project's moves, or every project's, are for admins only.
    if (filter.projectId === undefined || filter.projectId !== ctx.projectId) {
      authorize(ctx, 'os_compute_api:os-migrations:index:all_projects');
    }
    let migrations: MigrationRecord[];
    try {
      migrations = await listMigrations(db, filter, page);
    } catch (err) {
      if (err instanceof MigrationMarkerNotFound) throw new BadRequest(`Marker ${err.message} could not be found.`);
      throw err;
    }
    const visible = migrations.filter((m) => !m.hidden);
    const body: Record<string, unknown> = {
      migrations: visible.map((m) => migrationView(request, m, ctx.isAdmin)),
    };
    if (paged) {
      const last = visible[visible.length - 1];
      const links = collectionLinks(request, visible.length, last?.uuid, 'os-migrations', maxLimit);
      if (links.length) body['migrations_links'] = links;
    }
    return body;
  });

  app.get<{ Params: { id: string } }>('/servers/:id/migrations', async (request) => {
    const instance = await serverForMigrations(db, request, 'os_compute_api:servers:migrations:index');
    // Only live migrations under way are listed here (they are the ones that can be forced or aborted).
    const migrations = await listMigrations(db, {
      instanceUuid: instance.uuid,
      migrationType: 'live-migration',
      statuses: LIVE_IN_PROGRESS,
    });
    return { migrations: migrations.map((m) => serverMigrationView(request, m, request.ctx.isAdmin)) };
  });

  app.get<{ Params: { id: string; migration_id: string } }>(
    '/servers/:id/migrations/:migration_id',
    async (request) => {
      const instance = await serverForMigrations(db, request, 'os_compute_api:servers:migrations:show');
      const id = request.params.migration_id;
      const where = `${id} for server ${instance.uuid}`;
      const migration = (await listMigrations(db, { instanceUuid: instance.uuid })).find((m) => String(m.id) === id);
      if (!migration) throw new NotFound(`In-progress live migration ${id} is not found for server ${instance.uuid}.`);
      if (migration.migration_type !== 'live-migration')
        throw new NotFound(`Migration ${where} is not live-migration.`);
      if (!LIVE_IN_PROGRESS.includes(migration.status))
        throw new NotFound(`Live migration ${where} is not in progress.`);
      return { migration: serverMigrationView(request, migration, request.ctx.isAdmin) };
    },
  );
}

/** A live migration in progress as GET /servers/{id}/migrations shows it (with its progress figures). */
function serverMigrationView(request: FastifyRequest, m: MigrationRecord, withHosts: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: m.id,
    server_uuid: m.instance_uuid,
    status: m.status,
    ...hostFields(m, withHosts),
    created_at: naiveTime(m.created_at),
    updated_at: naiveTime(m.updated_at),
    // The transfer so far, as the source host last reported it (null before its first report).
    memory_total_bytes: m.memory_total,
    memory_processed_bytes: m.memory_processed,
    memory_remaining_bytes: m.memory_remaining,
    disk_total_bytes: m.disk_total,
    disk_processed_bytes: m.disk_processed,
    disk_remaining_bytes: m.disk_remaining,
  };
  return { ...view, ...laterFields(request, m) };
}

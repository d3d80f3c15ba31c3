/**
 * Live migration through the compute API, as Nova's (migrate_server.py, server_migrations.py and
 * compute/api.py):
 * - os-migrateLive (admin): bodies per microversion: `host` (null: the scheduler picks) and
 *   `block_migration` always, `disk_over_commit` before 2.25 only, `block_migration` 'auto' from 2.25,
 *   `force` from 2.30 to 2.67 (true needs a host: 400). A server ACTIVE or PAUSED with no task, not
 *   locked (409 otherwise); a host that is no compute host, or the server's own, is a 400 before 2.34;
 *   from 2.34 only an unknown host named without force is (the rest fails after the 202, as a fault). Task migrating,
 *   a migration of type live-migration (accepted), the action `live-migration`, live_migrate_instance
 *   cast to the conductor; 202. Before 2.30 a named host is taken as it is (Nova's old behaviour), from
 *   2.30 it is checked by the scheduler unless forced.
 * - POST /servers/{id}/migrations/{id}/action force_complete (2.22, admin): a running live migration of
 *   an ACTIVE server in task migrating (409 otherwise) is made to converge; another migration or one not
 *   running is a 400. Action `live_migration_force_complete`; 202.
 * - DELETE /servers/{id}/migrations/{id} (2.24, admin): the live migration is aborted; a server not in
 *   task migrating is a 409, an unknown migration a 404, one not running (from 2.65: nor queued nor
 *   preparing) a 400. A running one is cancelled by its source host; a queued or preparing one is marked
 *   cancelled here and the conductor puts it back at its next step. Action `live_migration_cancel`; 202.
 * A refused cast withdraws the task and puts the migration in error: nothing stays in between.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { startAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import type { Instance } from '../../../objects/instances.ts';
import { listMigrations, MigrationStatus, updateMigration, type MigrationRecord } from '../../../objects/migrations.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast, requireVersion } from '../microversion.ts';
import { BOOLEAN_STRINGS, BooleanLike } from '../schema-types.ts';
import { boolFromString, validateBody } from '../validate.ts';
import { assertActionAllowed, claimForAction, computeUnreachable, type ActionRule } from './actions.ts';
import { findServer } from './lookup.ts';
import { castMoveOrUndo, createSameFlavorMigration } from './move-start.ts';

/** Nova's instance action names of a live migration and its controls. */
export const LiveMigrationAction = {
  LIVE_MIGRATION: 'live-migration',
  FORCE_COMPLETE: 'live_migration_force_complete',
  CANCEL: 'live_migration_cancel',
} as const;

const LIVE_MIGRATE_RULE: Omit<ActionRule, 'cast'> = {
  name: 'os-migrateLive',
  action: LiveMigrationAction.LIVE_MIGRATION,
  vmStates: [VmState.ACTIVE, VmState.PAUSED],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.MIGRATING,
};
const FORCE_COMPLETE_RULE: Omit<ActionRule, 'cast'> = {
  name: 'force_complete',
  action: LiveMigrationAction.FORCE_COMPLETE,
  vmStates: [VmState.ACTIVE],
  taskStates: [TaskState.MIGRATING],
  needsHost: true,
  setTask: '',
};
const ABORT_RULE: Omit<ActionRule, 'cast'> = {
  name: 'abort live migration',
  action: LiveMigrationAction.CANCEL,
  vmStates: Object.values(VmState),
  taskStates: [TaskState.MIGRATING],
  needsHost: true,
  setTask: '',
};

/** Nova's hostname parameter, or null. */
const Host = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  pattern: '^[a-zA-Z0-9-._]*$',
  minLength: 1,
  maxLength: 255,
});
const BlockMigrationAuto = Type.Unsafe<boolean | string>({
  type: ['boolean', 'string'],
  enum: [true, false, ...BOOLEAN_STRINGS, 'auto'],
});

function migrateLiveSchema(properties: Record<string, TSchema>, required: string[]): TSchema {
  return Type.Unsafe({
    type: 'object',
    properties: {
      'os-migrateLive': {
        type: 'object',
        properties: { host: Host, ...properties },
        required,
        additionalProperties: false,
      },
    },
    required: ['os-migrateLive'],
    additionalProperties: false,
  });
}

const MigrateLiveSchema = migrateLiveSchema({ block_migration: BooleanLike, disk_over_commit: BooleanLike }, [
  'block_migration',
  'disk_over_commit',
  'host',
]);
const MigrateLiveV225Schema = migrateLiveSchema({ block_migration: BlockMigrationAuto }, ['block_migration', 'host']);
const MigrateLiveV230Schema = migrateLiveSchema({ block_migration: BlockMigrationAuto, force: BooleanLike }, [
  'block_migration',
  'host',
]);

/** `{"force_complete": null}` exactly (Nova's schema). */
const ForceCompleteSchema: TSchema = Type.Unsafe({
  type: 'object',
  properties: { force_complete: { type: 'null' } },
  required: ['force_complete'],
  additionalProperties: false,
});

interface MigrateLiveBody {
  'os-migrateLive': {
    host: string | null;
    block_migration: boolean | string;
    disk_over_commit?: boolean | string;
    force?: boolean | string;
  };
}

function schemaFor(request: FastifyRequest): TSchema {
  if (!atLeast(request, '2.25')) return MigrateLiveSchema;
  if (atLeast(request, '2.30') && !atLeast(request, '2.68')) return MigrateLiveV230Schema;
  return MigrateLiveV225Schema;
}

export async function migrateLive(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const body = validateBody<MigrateLiveBody>(schemaFor(request), request.body)['os-migrateLive'];
  authorize(request.ctx, 'os_compute_api:os-migrate-server:migrate_live', ownedBy(instance));
  const host = body.host ?? undefined;
  if (host !== undefined)
    authorize(request.ctx, 'os_compute_api:os-migrate-server:migrate_live:host', ownedBy(instance));
  // Before 2.30 a named host skips the scheduler (Nova's force=None); from 2.30 only when forced.
  let force = !atLeast(request, '2.30') && host !== undefined;
  if (atLeast(request, '2.30') && body.force !== undefined) {
    force = boolFromString(body.force, true, 'force');
    if (force && !host) throw new BadRequest("Can't force to a non-provided destination");
  }
  let blockMigration: boolean | null;
  if (atLeast(request, '2.25')) {
    blockMigration = body.block_migration === 'auto' ? null : boolFromString(body.block_migration, true);
  } else {
    blockMigration = boolFromString(body.block_migration, true, 'block_migration');
    // Checked as Nova does; no host here overcommits disk by its choice (placement counts the disks).
    boolFromString(body.disk_over_commit!, true, 'disk_over_commit');
  }
  assertActionAllowed(instance, LIVE_MIGRATE_RULE, request.ctx.isAdmin);
  const db = deps.database.db;
  // Before 2.34 the destination's checks answer the request (400); from 2.34 Nova answers first and a
  // refused destination is a fault and the action's error (the conductor's checks). A host named without
  // force is looked up by the API itself (Nova's ComputeNodeList.get_all_by_host) at every version.
  const checkNow = !atLeast(request, '2.34');
  if (host !== undefined && (checkNow || !force)) {
    const node = await db
      .selectFrom('compute_nodes')
      .select('id')
      .where('host', '=', host)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!node) throw new BadRequest(`Compute host ${host} could not be found.`);
    if (checkNow && host === instance.host) {
      throw new BadRequest(`Unable to migrate instance (${instance.uuid}) to current host (${host}).`);
    }
  }
  const claimed = await claimForAction(db, instance, LIVE_MIGRATE_RULE, { task_state: TaskState.MIGRATING });
  const migration = await createSameFlavorMigration(db, request.ctx, claimed, 'live-migration', host ?? null);
  await startAction(db, request.ctx, instance.uuid, LIVE_MIGRATE_RULE.action);
  await castMoveOrUndo(db, instance.uuid, migration.uuid, TaskState.MIGRATING, () =>
    deps.conductor.liveMigrateInstance(request.ctx, {
      uuid: instance.uuid,
      migration_uuid: migration.uuid,
      ...(host ? { host } : {}),
      force,
      block_migration: blockMigration,
    }),
  );
  return reply.code(202).send();
}

/** The server's migration of id `id` (Nova's get_by_id_and_instance), or null. */
async function migrationById(deps: ComputeApiDeps, instance: Instance, id: string): Promise<MigrationRecord | null> {
  if (!/^\d+$/.test(id)) return null;
  const migrations = await listMigrations(deps.database.db, { instanceUuid: instance.uuid });
  return migrations.find((m) => String(m.id) === id) ?? null;
}

/** Nova's InvalidMigrationState (400). */
function invalidState(id: string, instance: Instance, m: MigrationRecord, method: string): Error {
  return new BadRequest(
    `Migration ${id} state of instance ${instance.uuid} is ${m.status}. Cannot ${method} while the migration is ` +
      'in this state.',
  );
}

/** Casts `action` to the migration's source host; a refused cast is the 503 of an unreachable host. */
async function castControl(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  migration: MigrationRecord,
  action: 'live_migration_abort' | 'live_migration_force_complete',
): Promise<void> {
  const host = migration.source_compute!;
  try {
    await deps.compute.liveMigrationControl(request.ctx, host, action, instancePayload(instance), migration.uuid);
  } catch (err) {
    throw computeUnreachable(host, err);
  }
}

export function registerLiveMigrationRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.post<{ Params: { id: string; migration_id: string } }>(
    '/servers/:id/migrations/:migration_id/action',
    async (request, reply) => {
      requireVersion(request, '2.22');
      const instance = await findServer(db, request.ctx, request.params.id);
      authorize(request.ctx, 'os_compute_api:servers:migrations:force_complete', ownedBy(instance));
      validateBody(ForceCompleteSchema, request.body);
      assertActionAllowed(instance, FORCE_COMPLETE_RULE, request.ctx.isAdmin);
      const id = request.params.migration_id;
      const migration = await migrationById(deps, instance, id);
      if (!migration) throw new BadRequest(`Migration ${id} not found for instance ${instance.uuid}`);
      if (migration.migration_type !== 'live-migration' || migration.status !== MigrationStatus.RUNNING) {
        throw invalidState(id, instance, migration, 'force complete');
      }
      await startAction(db, request.ctx, instance.uuid, FORCE_COMPLETE_RULE.action);
      await castControl(deps, request, instance, migration, 'live_migration_force_complete');
      return reply.code(202).send();
    },
  );

  app.delete<{ Params: { id: string; migration_id: string } }>(
    '/servers/:id/migrations/:migration_id',
    async (request, reply) => {
      requireVersion(request, '2.24');
      const instance = await findServer(db, request.ctx, request.params.id);
      authorize(request.ctx, 'os_compute_api:servers:migrations:delete', ownedBy(instance));
      assertActionAllowed(instance, ABORT_RULE, request.ctx.isAdmin);
      const id = request.params.migration_id;
      const migration = await migrationById(deps, instance, id);
      if (!migration) throw new NotFound(`Migration ${id} not found for instance ${instance.uuid}`);
      const queued: string[] = [MigrationStatus.QUEUED, MigrationStatus.PREPARING];
      const allowed = atLeast(request, '2.65') ? [MigrationStatus.RUNNING, ...queued] : [MigrationStatus.RUNNING];
      if (migration.migration_type !== 'live-migration' || !allowed.includes(migration.status)) {
        throw invalidState(id, instance, migration, 'abort live migration');
      }
      await startAction(db, request.ctx, instance.uuid, ABORT_RULE.action);
      // Not running yet: marked cancelled, the conductor puts it back at its next step.
      if (queued.includes(migration.status)) {
        if (await updateMigration(db, migration.uuid, { status: MigrationStatus.CANCELLED }, queued)) {
          return reply.code(202).send();
        }
        // It started running meanwhile: its source cancels it.
      }
      await castControl(deps, request, instance, migration, 'live_migration_abort');
      return reply.code(202).send();
    },
  );
}

/**
 * The resize, migrate, confirmResize and revertResize server actions, as Nova's (servers.py,
 * migrate_server.py and compute/api.py):
 * - resize (ACTIVE or SHUTOFF, no task, not locked): a flavor other than the server's (400 "Resize requires
 *   a flavor change."), a root disk of 0 only from one of 0, cores and ram of a bigger flavor within quota
 *   (403), optionally OS-DCF:diskConfig. Task resize_prep and a migration record (type resize) in the
 *   transaction that checked the quota, action `resize`, cast migrate_server to the conductor; 202.
 * - migrate (admin): the same with the server's own flavor (type migration); from 2.56 an admin may name
 *   the destination host (400 if unknown or the server's own).
 * - confirmResize (VERIFY_RESIZE): task resize_confirming, the migration confirming, cast confirm_resize to
 *   the source; 204. revertResize: task resize_reverting, cast revert_resize to the destination; 202 (no
 *   quota check: see revertResize).
 *   Without a finished migration: 400 "Instance has not been resized.".
 * A refused cast withdraws the task and puts the migration in error: nothing stays in between.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { BadRequest } from '../../../common/errors.ts';
import type { Flavor } from '../../../objects/flavors.ts';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import { changeInstance, type Instance } from '../../../objects/instances.ts';
import {
  migrationOfInstance,
  MigrationStatus,
  updateMigration,
  type MigrationRecord,
} from '../../../objects/migrations.ts';
import type { OverQuota } from '../../../objects/quotas.ts';
import { beginConfirmResize, beginMove, beginRevertResize, moveOf } from '../../../objects/resize-records.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed, claimOrExplain, computeUnreachable, type ActionRule } from './actions.ts';
import { requestedFlavor } from './create-checks.ts';
import { autoDiskConfig, type DiskConfig } from './disk-config.ts';
import { bareActionSchema } from './schemas.ts';
import { castMoveOrUndo } from './move-start.ts';

/** What resize and migrate ask of the server (Nova's check_instance_state for resize). */
const RESIZE_RULE: Omit<ActionRule, 'cast'> = {
  name: 'resize',
  action: InstanceAction.RESIZE,
  vmStates: [VmState.ACTIVE, VmState.STOPPED],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.RESIZE_PREP,
};
const MIGRATE_RULE: Omit<ActionRule, 'cast'> = { ...RESIZE_RULE, name: 'migrate', action: InstanceAction.MIGRATE };
const VERIFY_RULE = (name: string): Omit<ActionRule, 'cast'> => ({
  name,
  action: name,
  vmStates: [VmState.RESIZED],
  taskStates: [null],
  needsHost: true,
  setTask: '',
});

const ResizeSchema: TSchema = Type.Unsafe({
  type: 'object',
  properties: {
    resize: {
      type: 'object',
      properties: {
        flavorRef: { type: ['string', 'integer'], minLength: 1 },
        'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
      },
      required: ['flavorRef'],
      additionalProperties: false,
    },
  },
  required: ['resize'],
  additionalProperties: false,
});

/** Before 2.56 the body is `{"migrate": null}` exactly. */
const MigrateSchema: TSchema = Type.Unsafe({
  type: 'object',
  properties: { migrate: { type: 'null' } },
  required: ['migrate'],
  additionalProperties: false,
});

/** 2.56: null, or an object that may name a host (null: any). */
const MigrateV256Schema: TSchema = Type.Unsafe({
  type: 'object',
  properties: {
    migrate: {
      type: ['object', 'null'],
      properties: { host: { type: ['string', 'null'], minLength: 1, maxLength: 255 } },
      additionalProperties: false,
    },
  },
  required: ['migrate'],
  additionalProperties: false,
});

interface ResizeBody {
  resize: { flavorRef: string | number; 'OS-DCF:diskConfig'?: DiskConfig };
}

export async function resizeServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const { resize } = validateBody<ResizeBody>(ResizeSchema, request.body);
  assertActionAllowed(instance, RESIZE_RULE, request.ctx.isAdmin);
  let flavor: Flavor;
  try {
    flavor = await requestedFlavor(deps.database.db, request.ctx, resize.flavorRef);
  } catch (err) {
    if (err instanceof BadRequest) throw new BadRequest('Unable to locate requested flavor.');
    throw err;
  }
  if (flavor.flavorid === instance.flavor.flavorid) throw new BadRequest('Resize requires a flavor change.');
  if (flavor.root_gb === 0 && instance.flavor.root_gb !== 0) {
    throw new BadRequest('Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.');
  }
  const diskConfig = autoDiskConfig(resize['OS-DCF:diskConfig']);
  await startMove(deps, request, instance, RESIZE_RULE, flavor, undefined, diskConfig);
  return reply.code(202).send();
}

export async function migrateServer(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const schema = atLeast(request, '2.56') ? MigrateV256Schema : MigrateSchema;
  const { migrate } = validateBody<{ migrate: { host?: string | null } | null }>(schema, request.body);
  authorize(request.ctx, 'os_compute_api:os-migrate-server:migrate', ownedBy(instance));
  const host = migrate?.host ?? undefined;
  assertActionAllowed(instance, MIGRATE_RULE, request.ctx.isAdmin);
  if (host !== undefined) {
    const node = await deps.database.db
      .selectFrom('compute_nodes')
      .select('id')
      .where('host', '=', host)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!node) throw new BadRequest(`Compute host ${host} could not be found.`);
    if (host === instance.host) {
      throw new BadRequest(`Unable to migrate instance (${instance.uuid}) to current host (${host}).`);
    }
  }
  await startMove(deps, request, instance, MIGRATE_RULE, instance.flavor, host);
  return reply.code(202).send();
}

/** Nova's refusal of a resize up over quota (TooManyInstances, from _check_quota_for_upsize): 403. */
function overQuotaMessage(over: OverQuota, growth: { cores: number; ram: number }): string {
  const overs = [...over.overs].sort();
  const requested = (r: string) => (r === 'cores' ? growth.cores : growth.ram);
  const list = (values: (string | number)[]) => values.join(', ');
  return (
    `Quota exceeded for ${list(overs)}: Requested ${list(overs.map(requested))}, but already used ` +
    `${list(overs.map((r) => over.usage[r] ?? 0))} of ${list(overs.map((r) => over.limits[r]))} ${list(overs)}`
  );
}

/**
 * Checks the quota of a resize up, claims the server (resize_prep) and records the migration and the
 * action, in one transaction (objects/resize-records.ts); then hands the move to the conductor.
 */
async function startMove(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  rule: Omit<ActionRule, 'cast'>,
  flavor: Flavor,
  host?: string,
  diskConfig?: boolean,
): Promise<void> {
  const db = deps.database.db;
  const { migration } = await claimOrExplain(db, instance, rule, () =>
    beginMove(db, request.ctx, instance, {
      type: rule === MIGRATE_RULE ? 'migration' : 'resize',
      flavor,
      changes: {
        task_state: TaskState.RESIZE_PREP,
        ...(diskConfig === undefined ? {} : { auto_disk_config: diskConfig ? 1 : 0 }),
      },
      expected: { vmState: rule.vmStates, taskState: rule.taskStates },
      action: rule.action,
      config: deps.config,
      overQuota: overQuotaMessage,
    }),
  );
  await castMoveOrUndo(db, instance.uuid, migration.uuid, TaskState.RESIZE_PREP, () =>
    deps.conductor.migrateServer(request.ctx, instance.uuid, migration.uuid, host),
  );
}

/** The server's finished migration, after the state checks Nova makes first (lock, then vm_state). */
async function finishedMigration(deps: ComputeApiDeps, request: FastifyRequest, instance: Instance, name: string) {
  validateBody(bareActionSchema(name), request.body);
  assertActionAllowed(instance, VERIFY_RULE(name), request.ctx.isAdmin);
  const migration = await migrationOfInstance(deps.database.db, instance.uuid, MigrationStatus.FINISHED);
  if (!migration) throw new BadRequest('Instance has not been resized.');
  return migration;
}

/** Claims the VERIFY_RESIZE server for `begin`; a lost race is Nova's 409. */
async function claimVerify(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  migration: MigrationRecord,
  name: string,
  begin: typeof beginConfirmResize,
): Promise<Instance> {
  const db = deps.database.db;
  return claimOrExplain(db, instance, VERIFY_RULE(name), () => begin(db, request.ctx, instance, migration));
}

export async function confirmResize(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const migration = await finishedMigration(deps, request, instance, 'confirmResize');
  const claimed = await claimVerify(deps, request, instance, migration, 'confirmResize', beginConfirmResize);
  const move = moveOf(migration);
  await castVerifyStep(deps, claimed, migration, TaskState.RESIZE_CONFIRMING, move.source_compute, () =>
    deps.compute.moveStep(request.ctx, move.source_compute, 'confirm_resize', instancePayload(claimed), move),
  );
  return reply.code(204).send();
}

export async function revertResize(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  // No quota check, unlike Nova's: the old flavor was counted all along (objects/quotas.ts), so going back
  // to it can take no one past a quota, and a revert is never refused for usage it does not add.
  const migration = await finishedMigration(deps, request, instance, 'revertResize');
  const claimed = await claimVerify(deps, request, instance, migration, 'revertResize', beginRevertResize);
  const move = moveOf(migration);
  await castVerifyStep(deps, claimed, migration, TaskState.RESIZE_REVERTING, move.dest_compute, () =>
    deps.compute.moveStep(request.ctx, move.dest_compute, 'revert_resize', instancePayload(claimed), move),
  );
  return reply.code(202).send();
}

/** A confirm or revert the host did not take: back to VERIFY_RESIZE with no task, the migration finished. */
async function castVerifyStep(
  deps: ComputeApiDeps,
  instance: Instance,
  migration: MigrationRecord,
  task: string,
  host: string,
  cast: () => Promise<void>,
): Promise<void> {
  try {
    await cast();
  } catch (err) {
    const db = deps.database.db;
    await updateMigration(db, migration.uuid, { status: MigrationStatus.FINISHED });
    await changeInstance(db, instance.uuid, { task_state: null }, { taskState: [task] }).catch(() => undefined);
    throw computeUnreachable(host, err);
  }
}

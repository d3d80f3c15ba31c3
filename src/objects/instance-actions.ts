/**
 * Instance actions and their events (os-instance-actions): every user action on a server is recorded with
 * its request id, and each service step (schedule, build, stop, ...) as an event with its result.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';

export const InstanceAction = {
  CREATE: 'create',
  DELETE: 'delete',
  START: 'start',
  STOP: 'stop',
  REBOOT: 'reboot',
  PAUSE: 'pause',
  UNPAUSE: 'unpause',
  SUSPEND: 'suspend',
  RESUME: 'resume',
  CREATE_IMAGE: 'createImage',
  SHELVE: 'shelve',
  SHELVE_OFFLOAD: 'shelveOffload',
  UNSHELVE: 'unshelve',
  BACKUP: 'createBackup',
  /** Stratus extension: disk snapshots. */
  CREATE_DISK_SNAPSHOT: 'createDiskSnapshot',
  DELETE_DISK_SNAPSHOT: 'deleteDiskSnapshot',
  REVERT_DISK_SNAPSHOT: 'revertDiskSnapshot',
  LOCK: 'lock',
  UNLOCK: 'unlock',
  RESET_STATE: 'resetState',
  RESCUE: 'rescue',
  UNRESCUE: 'unrescue',
  TRIGGER_CRASH_DUMP: 'trigger_crash_dump',
  RESTORE: 'restore',
  CHANGE_PASSWORD: 'changePassword',
  REBUILD: 'rebuild',
  RESIZE: 'resize',
  MIGRATE: 'migrate',
  CONFIRM_RESIZE: 'confirmResize',
  REVERT_RESIZE: 'revertResize',
  EVACUATE: 'evacuate',
} as const;

export async function startAction(db: Db, ctx: RequestContext, instanceUuid: string, action: string): Promise<void> {
  await db
    .insertInto('instance_actions')
    .values({
      action,
      instance_uuid: instanceUuid,
      request_id: ctx.requestId,
      user_id: ctx.userId,
      project_id: ctx.projectId,
      start_time: now(),
      finish_time: null,
      message: null,
      updated_at: null,
    })
    .execute();
}

/** The action a request started on an instance, as a subquery: events find it in the same statement. */
function actionOf(db: Db, instanceUuid: string, requestId: string) {
  return db
    .selectFrom('instance_actions')
    .where('instance_uuid', '=', instanceUuid)
    .where('request_id', '=', requestId);
}

/**
 * Records the start of a step of the action `requestId` started. Work no user action started (periodic
 * tasks) has no action to attach to, and records nothing.
 */
export async function startEvent(
  db: Db,
  instanceUuid: string,
  requestId: string,
  event: string,
  host: string | null,
): Promise<void> {
  await db
    .insertInto('instance_actions_events')
    .columns(['action_id', 'event', 'start_time', 'host'])
    .expression(
      actionOf(db, instanceUuid, requestId)
        .select((eb) => ['id', eb.val(event).as('event'), eb.val(now()).as('start_time'), eb.val(host).as('host')])
        .orderBy('id', 'desc')
        .limit(1),
    )
    .execute();
}

/** Records the end of a step; an Error marks the whole action, as Nova's action list shows it. */
export async function finishEvent(
  db: Db,
  instanceUuid: string,
  requestId: string,
  event: string,
  result: 'Success' | 'Error',
  failure?: { message: string; traceback?: string },
): Promise<void> {
  const timestamp = now();
  await db
    .updateTable('instance_actions_events')
    .set({ finish_time: timestamp, result, traceback: failure?.traceback ?? null, details: failure?.message ?? null })
    .where('action_id', 'in', actionOf(db, instanceUuid, requestId).select('id'))
    .where('event', '=', event)
    .where('finish_time', 'is', null)
    .execute();
  await db
    .updateTable('instance_actions')
    .set(result === 'Error' ? { updated_at: timestamp, message: 'Error' } : { updated_at: timestamp })
    .where('instance_uuid', '=', instanceUuid)
    .where('request_id', '=', requestId)
    .execute();
}

export interface ActionRecord {
  action: string;
  instance_uuid: string;
  request_id: string;
  user_id: string | null;
  project_id: string | null;
  start_time: string;
  message: string | null;
  updated_at: string | null;
  events: {
    event: string;
    start_time: string;
    finish_time: string | null;
    result: string | null;
    traceback: string | null;
    host: string | null;
    details: string | null;
  }[];
}

export async function listActions(db: Db, instanceUuid: string): Promise<ActionRecord[]> {
  const actions = await db
    .selectFrom('instance_actions')
    .selectAll()
    .where('instance_uuid', '=', instanceUuid)
    .orderBy('id', 'desc')
    .execute();
  const events = actions.length
    ? await db
        .selectFrom('instance_actions_events')
        .selectAll()
        .where(
          'action_id',
          'in',
          actions.map((a) => a.id),
        )
        .orderBy('id', 'asc')
        .execute()
    : [];
  return actions.map((a) => ({
    action: a.action,
    instance_uuid: a.instance_uuid,
    request_id: a.request_id,
    user_id: a.user_id,
    project_id: a.project_id,
    start_time: a.start_time,
    message: a.message,
    updated_at: a.updated_at,
    events: events
      .filter((e) => e.action_id === a.id)
      .map((e) => ({
        event: e.event,
        start_time: e.start_time,
        finish_time: e.finish_time,
        result: e.result,
        traceback: e.traceback,
        host: e.host,
        details: e.details,
      })),
  }));
}

/**
 * Records an action the API carries out itself (lock, unlock), as Nova's wrap_instance_event(prefix='api')
 * does: the action, its event `api_<action>` on the API's host, then `work` and the event's result. A
 * failure is recorded as the event's Error and raised again.
 */
export async function recordApiAction(
  db: Db,
  ctx: RequestContext,
  instanceUuid: string,
  action: string,
  host: string,
  work: () => Promise<void>,
): Promise<void> {
  const event = `api_${action}`;
  await startAction(db, ctx, instanceUuid, action);
  await startEvent(db, instanceUuid, ctx.requestId, event, host);
  try {
    await work();
  } catch (err) {
    const error = err as Error;
    await finishEvent(db, instanceUuid, ctx.requestId, event, 'Error', {
      message: error.message,
      ...(error.stack ? { traceback: error.stack } : {}),
    });
    throw err;
  }
  await finishEvent(db, instanceUuid, ctx.requestId, event, 'Success');
}

/** An error as an event's (and a report's) failure: its message and its stack as the traceback. */
export function failureOf(error: Error): { message: string; traceback: string } {
  return { message: error.message, traceback: error.stack ?? '' };
}

/** Marks the action a request started as finished (Nova's InstanceAction.finish), for work done in the API. */
export async function finishAction(db: Db, ctx: RequestContext, instanceUuid: string): Promise<void> {
  const timestamp = now();
  await db
    .updateTable('instance_actions')
    .set({ finish_time: timestamp, updated_at: timestamp })
    .where('instance_uuid', '=', instanceUuid)
    .where('request_id', '=', ctx.requestId)
    .execute();
}

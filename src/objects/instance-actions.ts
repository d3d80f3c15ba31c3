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

async function actionId(db: Db, instanceUuid: string, requestId: string): Promise<number | null> {
  const row = await db
    .selectFrom('instance_actions')
    .select('id')
    .where('instance_uuid', '=', instanceUuid)
    .where('request_id', '=', requestId)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function startEvent(
  db: Db,
  instanceUuid: string,
  requestId: string,
  event: string,
  host: string | null,
): Promise<void> {
  const id = await actionId(db, instanceUuid, requestId);
  if (id === null) return; // work not started by a user action (periodic tasks) has no action to attach to
  await db
    .insertInto('instance_actions_events')
    .values({
      action_id: id,
      event,
      start_time: now(),
      finish_time: null,
      result: null,
      traceback: null,
      host,
      details: null,
    })
    .execute();
}

export async function finishEvent(
  db: Db,
  instanceUuid: string,
  requestId: string,
  event: string,
  result: 'Success' | 'Error',
  failure?: { message: string; traceback?: string },
): Promise<void> {
  const id = await actionId(db, instanceUuid, requestId);
  if (id === null) return;
  const timestamp = now();
  await db
    .updateTable('instance_actions_events')
    .set({ finish_time: timestamp, result, traceback: failure?.traceback ?? null, details: failure?.message ?? null })
    .where('action_id', '=', id)
    .where('event', '=', event)
    .where('finish_time', 'is', null)
    .execute();
  await db
    .updateTable('instance_actions')
    .set({ updated_at: timestamp, message: result === 'Error' ? 'Error' : null })
    .where('id', '=', id)
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

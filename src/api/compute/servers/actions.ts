/**
 * POST /servers/{id}/action: os-start, os-stop, reboot, pause, unpause, suspend and resume
 * (os-getConsoleOutput lives in console-output.ts, createImage in create-image.ts, os-getVNCConsole in
 * remote-consoles.ts, the Stratus extension revertDiskSnapshot in disk-snapshots.ts, lock and unlock in
 * lock.ts, os-resetState in reset-state.ts, rescue and unrescue in rescue.ts, trigger_crash_dump in
 * crash-dump.ts, resize, migrate, confirmResize and revertResize in resize.ts, evacuate in evacuate.ts,
 * os-migrateLive in live-migration.ts). Each checks the state as Nova's compute API does (lock,
 * host, vm_state, task_state, launched), then claims the instance by setting its task_state with the
 * states it expects — so of two racing requests one wins and the other gets a 409 — records the instance
 * action and casts the work to compute.<host>. If the cast is refused, the task is withdrawn so the
 * server does not stay stuck in it.
 */
import { changeServerSecurityGroup } from './security-groups.ts';
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../../common/db/database.ts';
import {
  BadRequest,
  Conflict,
  InstanceInvalidState,
  ServiceUnavailable,
  StratusError,
} from '../../../common/errors.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import { InstanceAction, startAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import {
  assertNotLocked,
  findInstance,
  updateInstance,
  type Instance,
  type InstanceChanges,
} from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { actionName, validateBody } from '../validate.ts';
import { changePassword } from './change-password.ts';
import { consoleOutput } from './console-output.ts';
import { createBackup } from './create-backup.ts';
import { createImage } from './create-image.ts';
import { triggerCrashDump } from './crash-dump.ts';
import { rescueServer, unrescueServer } from './rescue.ts';
import { forceDeleteServer, restoreServer } from './deferred-delete.ts';
import { revertDiskSnapshot } from './disk-snapshots.ts';
import { lockServer, unlockServer } from './lock.ts';
import { findServer } from './lookup.ts';
import { getVncConsoleAction } from './remote-consoles.ts';
import { rebuildServer } from './rebuild.ts';
import { resetServerState } from './reset-state.ts';
import { shelveServer, shelveOffloadServer, unshelveServer } from './shelve.ts';
import { confirmResize, migrateServer, resizeServer, revertResize } from './resize.ts';
import { evacuateServer } from './evacuate.ts';
import { migrateLive } from './live-migration.ts';
import { bareActionSchema, RebootSchema, type RebootBody } from './schemas.ts';

/** What an action needs to find and what it sets, as Nova's check_instance_state decorators say. */
export interface ActionRule {
  /** The name Nova puts in its 409 messages ('start', 'stop', 'reboot'). */
  name: string;
  /** The instance action recorded for os-instance-actions. */
  action: string;
  vmStates: readonly string[];
  taskStates: readonly (string | null)[];
  needsHost: boolean;
  setTask: string;
  /** Other fields the claim changes with the task (restore clears deleted_at, as Nova's restore does). */
  alsoSet?: InstanceChanges;
  /**
   * True for an action a lock does not forbid. Nova's lock guards a server against being changed or
   * deleted by mistake, so taking a snapshot of a locked server is allowed.
   */
  ignoresLock?: boolean;
  /** True when the work goes to the conductor, not to a host: a server with no host may undergo it (unshelve). */
  hostless?: boolean;
  cast(deps: ComputeApiDeps, request: FastifyRequest, host: string, instance: InstancePayload): Promise<void>;
}

const START: ActionRule = {
  name: 'start',
  action: InstanceAction.START,
  vmStates: [VmState.STOPPED],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.POWERING_ON,
  cast: (deps, request, host, instance) => deps.compute.startInstance(request.ctx, host, instance),
};

const STOP: ActionRule = {
  name: 'stop',
  action: InstanceAction.STOP,
  vmStates: [VmState.ACTIVE, VmState.ERROR],
  taskStates: [null],
  needsHost: true,
  setTask: TaskState.POWERING_OFF,
  cast: (deps, request, host, instance) => deps.compute.stopInstance(request.ctx, host, instance),
};

const SOFT_REBOOT: ActionRule = {
  name: 'reboot',
  action: InstanceAction.REBOOT,
  vmStates: [VmState.ACTIVE],
  taskStates: [null],
  needsHost: false,
  setTask: TaskState.REBOOTING,
  cast: (deps, request, host, instance) => deps.compute.rebootInstance(request.ctx, host, instance, 'SOFT'),
};

const HARD_REBOOT: ActionRule = {
  ...SOFT_REBOOT,
  vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR],
  // A hard reboot may take over from a soft one that hangs, or from a pause/suspend in progress.
  taskStates: [
    null,
    TaskState.REBOOTING,
    TaskState.REBOOT_PENDING,
    TaskState.REBOOT_STARTED,
    TaskState.RESUMING,
    TaskState.REBOOTING_HARD,
    TaskState.UNPAUSING,
    TaskState.PAUSING,
    TaskState.SUSPENDING,
  ],
  setTask: TaskState.REBOOTING_HARD,
  cast: (deps, request, host, instance) => deps.compute.rebootInstance(request.ctx, host, instance, 'HARD'),
};

/** pause, unpause, suspend and resume: one vm_state in, no task, a host, and a cast of the same name. */
function guestStateRule(
  name: 'pause' | 'unpause' | 'suspend' | 'resume',
  action: string,
  from: string,
  setTask: string,
): ActionRule {
  return {
    name,
    action,
    vmStates: [from],
    taskStates: [null],
    needsHost: true,
    setTask,
    cast: (deps, request, host, instance) => deps.compute.guestStateAction(request.ctx, host, name, instance),
  };
}

const PAUSE = guestStateRule('pause', InstanceAction.PAUSE, VmState.ACTIVE, TaskState.PAUSING);
const UNPAUSE = guestStateRule('unpause', InstanceAction.UNPAUSE, VmState.PAUSED, TaskState.UNPAUSING);
const SUSPEND = guestStateRule('suspend', InstanceAction.SUSPEND, VmState.ACTIVE, TaskState.SUSPENDING);
const RESUME = guestStateRule('resume', InstanceAction.RESUME, VmState.SUSPENDED, TaskState.RESUMING);
// A Map, not an object: the action is the client's word, and `toString` or `constructor` must not find
// Object.prototype's members.
const BARE_ACTIONS: ReadonlyMap<string, ActionRule> = new Map([
  ['os-start', START],
  ['os-stop', STOP],
  ['pause', PAUSE],
  ['unpause', UNPAUSE],
  ['suspend', SUSPEND],
  ['resume', RESUME],
]);

/**
 * The policy rule of each server action, by the action's key in the body. Actions missing here check
 * their own rule in their handler, where the rule depends on the body (os-resetState, shelveOffload,
 * migrate, evacuate).
 */
const ACTION_POLICIES: ReadonlyMap<string, string> = new Map([
  ['os-start', 'os_compute_api:servers:start'],
  ['os-stop', 'os_compute_api:servers:stop'],
  ['reboot', 'os_compute_api:servers:reboot'],
  ['pause', 'os_compute_api:os-pause-server:pause'],
  ['unpause', 'os_compute_api:os-pause-server:unpause'],
  ['suspend', 'os_compute_api:os-suspend-server:suspend'],
  ['resume', 'os_compute_api:os-suspend-server:resume'],
  ['os-getConsoleOutput', 'os_compute_api:os-console-output'],
  ['createImage', 'os_compute_api:servers:create_image'],
  ['createBackup', 'os_compute_api:os-create-backup'],
  ['os-getVNCConsole', 'os_compute_api:os-remote-consoles'],
  ['lock', 'os_compute_api:os-lock-server:lock'],
  ['unlock', 'os_compute_api:os-lock-server:unlock'],
  ['rescue', 'os_compute_api:os-rescue'],
  ['unrescue', 'os_compute_api:os-unrescue'],
  ['trigger_crash_dump', 'os_compute_api:servers:trigger_crash_dump'],
  ['restore', 'os_compute_api:os-deferred-delete:restore'],
  ['forceDelete', 'os_compute_api:os-deferred-delete:force'],
  ['changePassword', 'os_compute_api:os-admin-password'],
  ['rebuild', 'os_compute_api:servers:rebuild'],
  ['shelve', 'os_compute_api:os-shelve:shelve'],
  ['unshelve', 'os_compute_api:os-shelve:unshelve'],
  ['resize', 'os_compute_api:servers:resize'],
  ['confirmResize', 'os_compute_api:servers:confirm_resize'],
  ['revertResize', 'os_compute_api:servers:revert_resize'],
  ['addSecurityGroup', 'os_compute_api:os-security-groups:add'],
  ['removeSecurityGroup', 'os_compute_api:os-security-groups:remove'],
  ['revertDiskSnapshot', 'compute:stratus-disk-snapshots:revert'],
]);

export function registerServerActionRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  app.post<{ Params: { id: string } }>('/servers/:id/action', async (request, reply) => {
    const body = request.body;
    const action = actionName(body);
    const instance = await findServer(deps.database.db, request.ctx, request.params.id);
    // Nova's order: the server (404), its policy rule (403), then the body and the state.
    const policy = ACTION_POLICIES.get(action);
    if (policy) authorize(request.ctx, policy, ownedBy(instance));
    let rule: ActionRule;
    const bare = BARE_ACTIONS.get(action);
    switch (bare ? 'bare' : action) {
      case 'bare':
        validateBody(bareActionSchema(action), body);
        rule = bare!;
        break;
      case 'os-getConsoleOutput':
        return consoleOutput(deps, request, instance);
      case 'createImage':
        return createImage(deps, request, reply, instance);
      case 'os-getVNCConsole':
        return getVncConsoleAction(deps, request, instance);
      case 'revertDiskSnapshot':
        return revertDiskSnapshot(deps, request, reply, instance);
      case 'lock':
        return lockServer(deps, request, reply, instance);
      case 'unlock':
        return unlockServer(deps, request, reply, instance);
      case 'os-resetState':
        return resetServerState(deps, request, reply, instance);
      case 'rescue':
        return rescueServer(deps, request, reply, instance);
      case 'unrescue':
        return unrescueServer(deps, request, reply, instance);
      case 'trigger_crash_dump':
        return triggerCrashDump(deps, request, reply, instance);
      case 'restore':
        return restoreServer(deps, request, reply, instance);
      case 'forceDelete':
        return forceDeleteServer(deps, request, reply, instance);
      case 'changePassword':
        return changePassword(deps, request, reply, instance);
      case 'rebuild':
        return rebuildServer(deps, request, reply, instance);
      case 'createBackup':
        return createBackup(deps, request, reply, instance);
      case 'shelve':
        return shelveServer(deps, request, reply, instance);
      case 'shelveOffload':
        return shelveOffloadServer(deps, request, reply, instance);
      case 'unshelve':
        return unshelveServer(deps, request, reply, instance);
      case 'resize':
        return resizeServer(deps, request, reply, instance);
      case 'migrate':
        return migrateServer(deps, request, reply, instance);
      case 'confirmResize':
        return confirmResize(deps, request, reply, instance);
      case 'revertResize':
        return revertResize(deps, request, reply, instance);
      case 'evacuate':
        return evacuateServer(deps, request, reply, instance);
      case 'os-migrateLive':
        return migrateLive(deps, request, reply, instance);
      case 'addSecurityGroup':
        return changeServerSecurityGroup(deps, request, reply, instance, 'addSecurityGroup');
      case 'removeSecurityGroup':
        return changeServerSecurityGroup(deps, request, reply, instance, 'removeSecurityGroup');
      case 'reboot': {
        const { reboot } = validateBody<RebootBody>(RebootSchema, body);
        rule = reboot.type.toUpperCase() === 'HARD' ? HARD_REBOOT : SOFT_REBOOT;
        break;
      }
      default:
        throw new BadRequest(`There is no such action: ${action}`);
    }
    await runAction(deps, request, instance, rule);
    void reply.code(202);
  });
}

/** Why `instance` cannot undergo `rule` now, in Nova's words, or null if it can. */
export function refusal(instance: Instance, rule: Omit<ActionRule, 'cast'>): string | null {
  const cannot = (attr: string, state: string | null) =>
    `Cannot '${rule.name}' instance ${instance.uuid} while it is in ${attr} ${state ?? 'None'}`;
  if (rule.needsHost && !instance.host) return `Instance ${instance.uuid} is not ready`;
  if (!rule.vmStates.includes(instance.vm_state)) return cannot('vm_state', instance.vm_state);
  if (!rule.taskStates.includes(instance.task_state)) return cannot('task_state', instance.task_state);
  if (!instance.launched_at) return cannot('launched_at', null);
  if (!instance.host && !rule.hostless) return `Instance ${instance.uuid} is not ready`;
  return null;
}

/**
 * Refuses, before anything is written, an action on a locked server (unless an admin asks or the action
 * ignores locks) or on one in the wrong state: 409 with Nova's message. Routes that create something first (an image, a snapshot
 * record) call it themselves, so a refusal leaves nothing behind; runAction calls it again when it claims.
 */
export function assertActionAllowed(instance: Instance, rule: Omit<ActionRule, 'cast'>, isAdmin: boolean): void {
  if (!rule.ignoresLock) assertNotLocked(instance, isAdmin);
  const why = refusal(instance, rule);
  if (why) throw new Conflict(why);
}

/**
 * Runs `write`, a state change guarded by the states the rule allows; if another request changed the
 * server since it was read (InstanceInvalidState), a 409 explains with what the server is now.
 */
export async function claimOrExplain<T>(
  db: Db,
  instance: Instance,
  rule: Omit<ActionRule, 'cast'>,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof InstanceInvalidState)) throw err;
    const now = await findInstance(db, instance.uuid);
    throw new Conflict(
      (now && refusal(now, rule)) ?? `Instance ${instance.uuid} is in an invalid state for '${rule.name}'`,
    );
  }
}

/** Writes the action's first task state (and `changes`) only if the server is in a state the rule allows. */
export function claimForAction(
  db: Db,
  instance: Instance,
  rule: Omit<ActionRule, 'cast'>,
  changes: InstanceChanges,
): Promise<Instance> {
  return claimOrExplain(db, instance, rule, () =>
    updateInstance(db, instance.uuid, changes, { vmState: rule.vmStates, taskState: rule.taskStates }),
  );
}

export async function runAction(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  rule: ActionRule,
): Promise<void> {
  const db = deps.database.db;
  assertActionAllowed(instance, rule, request.ctx.isAdmin);
  const claimed = await claimForAction(db, instance, rule, { ...rule.alsoSet, task_state: rule.setTask });
  await startAction(db, request.ctx, instance.uuid, rule.action);
  const host = claimed.host ?? '';
  try {
    await rule.cast(deps, request, host, instancePayload(claimed));
  } catch (err) {
    await updateInstance(db, instance.uuid, { task_state: null }, { taskState: [rule.setTask] }).catch(() => undefined);
    // A call the host answered with a refusal (changePassword without a guest agent): Nova's 409.
    if (err instanceof StratusError && err.status === 409) throw err;
    if (rule.hostless) {
      throw new ServiceUnavailable(`The conductor could not be reached; nothing was done: ${(err as Error).message}`);
    }
    throw computeUnreachable(host, err);
  }
}

/** The 503 of an action whose cast compute did not take (its task already withdrawn). */
export function computeUnreachable(host: string, err: unknown): Error {
  return new ServiceUnavailable(
    `The compute service of host ${host} could not be reached; nothing was done: ${(err as Error).message}`,
  );
}

/**
 * Nova's instance action notifications around the compute host's RPC handlers: `<event>.start` before
 * the handler, then `<event>.end` if the action succeeded or, for the actions Nova reports failures of
 * (create, reboot, rebuild, snapshot, ...), `<event>.error` at priority ERROR with the fault. Whether an
 * action succeeded is read from the tracker, because the manager records a failure (fault, action event
 * in Error, reschedule) and returns rather than throwing. Wrapping the handlers keeps notifications out
 * of the manager and its action modules; the notifier only queues, so none of this delays an action.
 */
import type { RequestContext } from '../../common/context.ts';
import { builds } from '../../common/metrics/metrics.ts';
import type { Notifier } from '../../common/notifications/notifier.ts';
import type { InstancePayload } from '../../wire/messages/instance-payload.ts';
import type { NetworkInfo } from '../../wire/messages/network-info.ts';
import { VmState } from '../../wire/messages/instance-states.ts';
import { actionPayload, type ActionPayloadKind } from '../../wire/notifications/instance-payloads.ts';
import type { InstanceTracker } from './tracker.ts';

interface ActionArgs {
  instance: InstancePayload;
  network_info?: NetworkInfo;
  rescue_image_ref?: string | null;
  image_id?: string;
}

interface ActionNotification {
  event: string;
  /** Nova sends `<event>.error` when the action fails; otherwise a failed action sends no end. */
  error: boolean;
  payload: (args: ActionArgs) => ActionPayloadKind;
}

const plain = (): ActionPayloadKind => ({ kind: 'action' });
const action = (event: string, error = false): ActionNotification => ({ event, error, payload: plain });
const snapshot = (args: ActionArgs): ActionPayloadKind => ({ kind: 'snapshot', snapshotImageId: args.image_id ?? '' });

/** The compute RPC methods that are instance actions, with Nova's event types for them. */
export const ACTION_NOTIFICATIONS: Readonly<Record<string, ActionNotification>> = {
  build_and_run_instance: { event: 'instance.create', error: true, payload: () => ({ kind: 'create' }) },
  terminate_instance: action('instance.delete'),
  stop_instance: action('instance.power_off'),
  start_instance: action('instance.power_on'),
  reboot_instance: action('instance.reboot', true),
  pause_instance: action('instance.pause'),
  unpause_instance: action('instance.unpause'),
  suspend_instance: action('instance.suspend'),
  resume_instance: action('instance.resume'),
  soft_delete_instance: action('instance.soft_delete'),
  restore_instance: action('instance.restore'),
  trigger_crash_dump: action('instance.trigger_crash_dump'),
  snapshot_instance: { event: 'instance.snapshot', error: true, payload: snapshot },
  // Nova's backup is a snapshot and says so.
  backup_instance: { event: 'instance.snapshot', error: true, payload: snapshot },
  rebuild_instance: { event: 'instance.rebuild', error: true, payload: () => ({ kind: 'rebuild' }) },
  rescue_instance: {
    event: 'instance.rescue',
    error: false,
    payload: (args) => ({ kind: 'rescue', rescueImageRef: args.rescue_image_ref ?? null }),
  },
  unrescue_instance: action('instance.unrescue'),
  shelve_instance: action('instance.shelve'),
  shelve_offload_instance: action('instance.shelve_offload'),
  unshelve_instance: action('instance.unshelve'),
  // Live migration: each host's steps, as Nova's compute manager sends them.
  pre_live_migration: action('instance.live_migration_pre'),
  post_live_migration_at_destination: action('instance.live_migration_post_dest'),
  post_live_migration: action('instance.live_migration_post'),
  rollback_live_migration_at_destination: action('instance.live_migration_rollback_dest'),
  live_migration_abort: action('instance.live_migration_abort'),
  live_migration_force_complete: action('instance.live_migration_force_complete'),
};

type Handler = (ctx: RequestContext, args: never) => Promise<unknown>;

/** The handlers with the instance actions among them wrapped; the others as they were. */
export function withActionNotifications<H extends Record<string, Handler>>(
  handlers: H,
  notifier: Notifier,
  tracker: InstanceTracker,
): H {
  const wrapped: Record<string, Handler> = { ...handlers };
  for (const [method, spec] of Object.entries(ACTION_NOTIFICATIONS)) {
    const handler = handlers[method] as unknown as
      ((ctx: RequestContext, args: ActionArgs) => Promise<unknown>) | undefined;
    if (!handler) continue;
    wrapped[method] = (async (ctx: RequestContext, args: ActionArgs) => {
      const uuid = args.instance.uuid;
      tracker.see(args.instance, args.network_info);
      const payloadKind = spec.payload(args);
      const send = (suffix: string, withFault: boolean): void => {
        const facts = tracker.get(uuid);
        if (!facts || !notifier.enabled) return;
        const payload = actionPayload(ctx, facts, withFault ? facts.failure : null, payloadKind);
        notifier.emit(ctx, `${spec.event}.${suffix}`, payload, suffix === 'error' ? 'ERROR' : undefined);
      };
      send('start', false);
      try {
        const result = await handler(ctx, args);
        const failure = tracker.get(uuid)?.failure ?? null;
        if (method === 'build_and_run_instance') countBuild(tracker, uuid);
        if (failure) {
          if (spec.error) send('error', true);
        } else if (method !== 'build_and_run_instance' || tracker.get(uuid)?.instance.vm_state === VmState.ACTIVE) {
          send('end', false);
        }
        return result;
      } catch (err) {
        tracker.failed(uuid, {
          exception: (err as Error).name || 'Error',
          message: (err as Error).message,
          traceback: (err as Error).stack ?? '',
        });
        if (spec.error) send('error', true);
        throw err;
      } finally {
        tracker.settle(uuid);
      }
    }) as Handler;
  }
  return wrapped as H;
}

function countBuild(tracker: InstanceTracker, uuid: string): void {
  const facts = tracker.get(uuid);
  if (!facts) return;
  if (facts.rescheduled) builds.inc({ outcome: facts.rescheduled === 'abort' ? 'error' : 'rescheduled' });
  else if (facts.instance.vm_state === VmState.ACTIVE) builds.inc({ outcome: 'active' });
}

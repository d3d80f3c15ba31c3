/**
 * Versioned notifications as Nova sends them through oslo.messaging, so the consumers written for Nova
 * (billing such as CloudKitty, Ceilometer, monitoring) read Stratus's unchanged: on the topic exchange
 * `nova`, routing key `<topic>.<priority>` (`versioned_notifications.info`), a message with message_id,
 * publisher_id, event_type, priority, payload (a versioned object) and timestamp, the caller's context as
 * `_context_*` keys, wrapped by the messagingv2 driver in oslo's envelope {"oslo.version": "2.0",
 * "oslo.message": "<the message as JSON>"}.
 *
 * A notification must never slow or fail the action it reports: emit() only queues it and returns; one
 * drain loop sends the queue in order. The queue is bounded ([notifications] bus_buffer_size): when the
 * bus is slow or away the oldest are dropped, and a send that fails is dropped, both counted
 * (stratus_notifications_total) and logged, never retried into an unbounded backlog.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/load-config.ts';
import type { RequestContext } from '../context.ts';
import { getLogger } from '../log/logger.ts';
import { notificationsSent } from '../metrics/metrics.ts';
import type { Transport } from '../rpc/transport.ts';

const log = getLogger('notifications');

/** The exchange Nova's notifications go to (oslo.messaging's control_exchange as Nova sets it). */
export const NOTIFICATION_EXCHANGE = 'nova';

export type Priority = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL';

/** A Nova versioned object as notifications carry it. */
export interface VersionedObject {
  'nova_object.name': string;
  'nova_object.namespace': 'nova';
  'nova_object.version': string;
  'nova_object.data': Record<string, unknown>;
}

export function versionedObject(name: string, version: string, data: Record<string, unknown>): VersionedObject {
  return {
    'nova_object.name': name,
    'nova_object.namespace': 'nova',
    'nova_object.version': version,
    'nova_object.data': data,
  };
}

export interface NotifierOptions {
  /** `nova-compute:<host>`, `nova-conductor:<host>`... */
  publisherId: string;
  /** [oslo_messaging_notifications] driver: messagingv2, messaging, log, noop. */
  drivers: readonly string[];
  /** [notifications] notification_format. */
  format: string;
  /** [notifications] versioned_notifications_topics. */
  topics: readonly string[];
  /** [notifications] default_level. */
  defaultLevel: Priority;
  /** [notifications] bus_buffer_size. */
  bufferSize: number;
}

interface Pending {
  eventType: string;
  topic: string;
  body: string;
}

export class Notifier {
  private readonly queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private readonly toBus: ('messagingv2' | 'messaging')[];
  private readonly toLog: boolean;

  constructor(
    private readonly transport: Transport,
    private readonly opts: NotifierOptions,
  ) {
    const versioned = opts.format !== 'unversioned';
    this.toBus = versioned
      ? opts.drivers.filter((d): d is 'messagingv2' | 'messaging' => d === 'messagingv2' || d === 'messaging')
      : [];
    this.toLog = versioned && opts.drivers.includes('log');
  }

  /** Whether anything is sent at all: callers skip building payloads when not. */
  get enabled(): boolean {
    return this.toBus.length > 0 || this.toLog;
  }

  /**
   * Queues the notification and returns at once; `priority` defaults to [notifications] default_level.
   * `publisherId` replaces the process's own where Nova names another publisher: a service's changes are
   * published as that service (`nova-compute:<its host>`) whichever process made them.
   */
  emit(
    ctx: RequestContext,
    eventType: string,
    payload: VersionedObject,
    priority?: Priority,
    publisherId?: string,
  ): void {
    if (!this.enabled) return;
    try {
      const level = priority ?? this.opts.defaultLevel;
      const message = {
        message_id: randomUUID(),
        publisher_id: publisherId ?? this.opts.publisherId,
        event_type: eventType,
        priority: level,
        payload,
        timestamp: pythonTimestamp(new Date()),
        ...contextKeys(ctx),
        _unique_id: randomUUID().replaceAll('-', ''),
      };
      const json = JSON.stringify(message);
      if (this.toLog) log.info({ event_type: eventType, notification: message }, 'notification');
      for (const driver of this.toBus) {
        const body = driver === 'messagingv2' ? JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': json }) : json;
        for (const topic of this.opts.topics)
          this.enqueue({ eventType, topic: `${topic}.${level.toLowerCase()}`, body });
      }
    } catch (err) {
      // A payload JSON cannot carry is a bug to fix, not a reason to fail the action.
      log.error({ event_type: eventType, err: (err as Error).message }, 'could not build a notification');
      notificationsSent.inc({ event_type: eventType, outcome: 'failed' });
    }
  }

  /** Resolves once everything queued so far has been sent or dropped (service stop, tests). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending);
    if (this.queue.length > this.opts.bufferSize) {
      const dropped = this.queue.shift() as Pending;
      notificationsSent.inc({ event_type: dropped.eventType, outcome: 'dropped' });
      log.warn({ event_type: dropped.eventType }, 'notification buffer full: dropped the oldest notification');
    }
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      try {
        await this.transport.publishNotification(NOTIFICATION_EXCHANGE, next.topic, next.body);
        notificationsSent.inc({ event_type: next.eventType, outcome: 'sent' });
      } catch (err) {
        notificationsSent.inc({ event_type: next.eventType, outcome: 'failed' });
        log.warn(
          { event_type: next.eventType, topic: next.topic, err: (err as Error).message },
          'notification not sent',
        );
      }
    }
  }
}

/** oslo's timestamp: Python's str() of a naive UTC datetime, `2026-12-07 01:04:34.123000`. */
export function pythonTimestamp(at: Date): string {
  const iso = at.toISOString(); // 2026-12-07T01:04:34.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${iso.slice(20, 23)}000`;
}

/** The request context as oslo.messaging packs it into a notification: `_context_` keys. */
function contextKeys(ctx: RequestContext): Record<string, unknown> {
  return {
    _context_request_id: ctx.requestId,
    _context_global_request_id: null,
    _context_user_id: ctx.userId,
    _context_user: ctx.userId,
    _context_project_id: ctx.projectId,
    _context_tenant: ctx.projectId,
    _context_roles: [...ctx.roles],
    _context_is_admin: ctx.isAdmin,
  };
}

/** The notifier a service process sends with, as its configuration says (`nova-compute:<host>` and so on). */
export function notifierFromConfig(config: Config, transport: Transport, publisherId: string): Notifier {
  return new Notifier(transport, {
    publisherId,
    drivers: config.oslo_messaging_notifications.driver,
    format: config.notifications.notification_format,
    topics: config.notifications.versioned_notifications_topics,
    defaultLevel: config.notifications.default_level as Priority,
    bufferSize: config.notifications.bus_buffer_size,
  });
}

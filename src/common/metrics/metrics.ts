/**
 * Every Prometheus metric Stratus exports, declared once here on one registry per process (prom-client
 * refuses a name registered twice, and all-in-one runs every service in one process). Services below
 * record into these; the process exposes them on its metrics listener (server.ts). Label values are kept
 * to bounded sets (route templates, RPC method names, states): never an id, never a URL as sent.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

let defaultsCollected = false;
/** Process metrics (CPU, memory, event-loop lag, GC, handles), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: 'stratus_' });
}

/** Seconds; from 5 ms (a cached GET) to 60 s (a call timing out). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const apiRequests = new Histogram({
  name: 'stratus_api_request_duration_seconds',
  help: 'API requests by API, route template, method and status code, and how long they took.',
  labelNames: ['api', 'route', 'method', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const rpcClientMessages = new Histogram({
  name: 'stratus_rpc_client_duration_seconds',
  help:
    'RPC messages sent, by topic, method, kind (call, cast, fanout) and outcome (ok, or the error class): ' +
    'a call until its reply, a cast until the broker took it.',
  labelNames: ['topic', 'method', 'kind', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const rpcServerMessages = new Histogram({
  name: 'stratus_rpc_server_duration_seconds',
  help: 'RPC messages handled, by topic, method, kind (call, cast) and outcome (ok, or the error class).',
  labelNames: ['topic', 'method', 'kind', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const schedulerDecisions = new Counter({
  name: 'stratus_scheduler_decisions_total',
  help: 'Instances the scheduler placed (outcome "selected") or could not place ("no_valid_host").',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const schedulerClaimConflicts = new Counter({
  name: 'stratus_scheduler_claim_conflicts_total',
  help: 'Claims refused because the chosen host no longer had room (another claim got there first).',
  registers: [registry],
});

export const builds = new Counter({
  name: 'stratus_compute_builds_total',
  help: 'Builds a compute host finished, by outcome: active, rescheduled, error.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const instancesByState = new Gauge({
  name: 'stratus_instances',
  help: 'Live (not deleted) instances by vm_state, as counted by the conductor every report_interval.',
  labelNames: ['vm_state'] as const,
  registers: [registry],
});

export const serviceHeartbeatAge = new Gauge({
  name: 'stratus_service_heartbeat_age_seconds',
  help: 'Seconds since each registered service last reported, as the conductor read it (services up and down).',
  labelNames: ['binary', 'host'] as const,
  registers: [registry],
});

export const notificationsSent = new Counter({
  name: 'stratus_notifications_total',
  help: 'Versioned notifications by event type and outcome: sent, dropped (buffer full) or failed (bus error).',
  labelNames: ['event_type', 'outcome'] as const,
  registers: [registry],
});

/** The class name of an error as a label value, or 'ok'. */
export function outcomeOf(err: unknown): string {
  if (err === undefined) return 'ok';
  return err instanceof Error ? err.name || 'Error' : 'Error';
}

/**
 * os-simple-tenant-usage's arithmetic, as Nova's controller does it: a server is charged the hours of
 * the period during which it was launched and not yet terminated, and each project's totals are those
 * hours times the flavor's vCPUs, memory and disk. Times are microseconds since the epoch (the
 * resolution of the times Nova accepts), so nothing a client sends is rounded away.
 */
import { BadRequest } from '../../../common/errors.ts';

const MICROS_PER_HOUR = 3_600_000_000;

/** What usage needs of an instance (deleted ones included: they were charged until terminated). */
export interface UsageInstance {
  uuid: string;
  display_name: string;
  project_id: string;
  vm_state: string;
  flavorName: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  launchedAt: number;
  terminatedAt: number | null;
}

export interface ServerUsage {
  instance_id: string;
  name: string;
  tenant_id: string;
  flavor: string;
  hours: number;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  started_at: string;
  ended_at: string | null;
  state: string;
  uptime: number;
}

export interface TenantUsage {
  tenant_id: string;
  server_usages?: ServerUsage[];
  total_local_gb_usage: number;
  total_vcpus_usage: number;
  total_memory_mb_usage: number;
  total_hours: number;
  start: string;
  stop: string;
}

// Nova's accepted forms: ISO with a T (with or without a fraction), or with a space and a fraction.
const ACCEPTED_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?| (\d{2}):(\d{2}):(\d{2})\.(\d{1,6}))$/;

/** A `start`/`end` parameter as microseconds (UTC); absent means now. Anything else is Nova's 400. */
export function parseUsageTime(text: string | undefined, nowMicros: number): number {
  if (!text) return nowMicros;
  const match = ACCEPTED_TIME.exec(text);
  const [, y, mo, d] = match ?? [];
  const [h, mi, s, fraction] = match?.[4] !== undefined ? match.slice(4, 8) : (match?.slice(8, 12) ?? []);
  const millis = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const date = new Date(millis);
  // Date.UTC rolls 2026-02-30 over into March; strptime refuses it.
  if (!match || date.getUTCDate() !== Number(d) || date.getUTCHours() !== Number(h) || Number(s) > 59) {
    throw new BadRequest('Invalid datetime string: Datetime is in invalid format');
  }
  return millis * 1000 + Number((fraction ?? '').padEnd(6, '0'));
}

/** A stored ISO timestamp as microseconds. */
export function storedMicros(stored: string): number {
  return new Date(stored).getTime() * 1000;
}

/** How Python prints a naive datetime: `2026-11-21T09:38:55.123000`, or without the fraction when it is 0. */
export function pythonIsoformat(micros: number): string {
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const seconds = new Date((micros - fraction) / 1000).toISOString().slice(0, 19);
  return fraction ? `${seconds}.${String(fraction).padStart(6, '0')}` : seconds;
}

/** Hours of [start, stop] during which the instance ran (Nova's _hours_for). */
export function hoursFor(instance: UsageInstance, start: number, stop: number): number {
  if (instance.terminatedAt !== null && instance.terminatedAt < start) return 0;
  if (instance.launchedAt > stop) return 0;
  const from = Math.max(instance.launchedAt, start);
  const until = instance.terminatedAt !== null ? Math.min(stop, instance.terminatedAt) : stop;
  return (until - from) / MICROS_PER_HOUR;
}

/**
 * Per project in the order first met (the instances come sorted by project), its totals and, when
 * `detailed`, its servers; and every server's usage (the page the `next` link is worked out from).
 */
export function tenantUsages(
  instances: readonly UsageInstance[],
  start: number,
  stop: number,
  nowMicros: number,
  detailed: boolean,
): { usages: TenantUsage[]; servers: ServerUsage[] } {
  const byProject = new Map<string, TenantUsage>();
  const servers: ServerUsage[] = [];
  for (const instance of instances) {
    const hours = hoursFor(instance, start, stop);
    const ended = instance.terminatedAt;
    const server: ServerUsage = {
      instance_id: instance.uuid,
      name: instance.display_name,
      tenant_id: instance.project_id,
      flavor: instance.flavorName,
      hours,
      vcpus: instance.vcpus,
      memory_mb: instance.memory_mb,
      local_gb: instance.local_gb,
      started_at: pythonIsoformat(instance.launchedAt),
      ended_at: ended === null ? null : pythonIsoformat(ended),
      state: ended === null ? instance.vm_state : 'terminated',
      // Seconds it ran: to its end, or to now (not to the period's end) while it runs.
      uptime: Math.trunc(((ended ?? nowMicros) - instance.launchedAt) / 1_000_000),
    };
    let usage = byProject.get(instance.project_id);
    if (!usage) {
      usage = {
        tenant_id: instance.project_id,
        ...(detailed ? { server_usages: [] } : {}),
        total_local_gb_usage: 0,
        total_vcpus_usage: 0,
        total_memory_mb_usage: 0,
        total_hours: 0,
        start: pythonIsoformat(start),
        stop: pythonIsoformat(stop),
      };
      byProject.set(instance.project_id, usage);
    }
    usage.total_local_gb_usage += server.local_gb * hours;
    usage.total_vcpus_usage += server.vcpus * hours;
    usage.total_memory_mb_usage += server.memory_mb * hours;
    usage.total_hours += hours;
    usage.server_usages?.push(server);
    servers.push(server);
  }
  return { usages: [...byProject.values()], servers };
}

/**
 * os-instance-usage-audit-log (admin): how far the compute hosts got in auditing instance usage for the
 * last completed audit period (a calendar month, Nova's default `instance_usage_audit_period`). In Nova
 * each host records its run of the periodic usage audit in `task_log`; Stratus has no such periodic
 * task, so no host has a run to report, which is what Nova answers on a cloud with
 * `instance_usage_audit` off: every compute service (disabled ones too) counted among the hosts that did
 * not run, no instances and no errors.
 */
import { BadRequest } from '../../../common/errors.ts';
import { listServices } from '../../../objects/services.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { COMPUTE_BINARY } from '../servers/host-state.ts';

/** The audit period last completed before `before` (Nova's last_completed_audit_period, unit 'month'). */
export function lastCompletedMonth(before: Date): { begin: Date; end: Date } {
  let end = new Date(Date.UTC(before.getUTCFullYear(), before.getUTCMonth(), 1));
  if (end.getTime() >= before.getTime()) end = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 1, 1));
  const begin = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - 1, 1));
  return { begin, end };
}

/** Python's str() of a datetime: `2026-06-01 00:00:00`, with `.ffffff` when there are microseconds. */
function pythonStr(date: Date): string {
  const text = date.toISOString().replace('T', ' ');
  return date.getUTCMilliseconds() ? `${text.slice(0, 23)}000` : text.slice(0, 19);
}

/** `before` as Nova reads it from the path: `YYYY-MM-DD HH:MM:SS` with an optional fraction. */
function parseBefore(text: string): Date {
  const match = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?$/.exec(text);
  const hasFraction = text.includes('.');
  if (match && hasFraction === (match[7] !== undefined)) {
    const [y, mo, d, h, mi, s] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const ms = Math.floor(Number((match[7] ?? '0').padEnd(6, '0')) / 1000);
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
    if (date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 62) return date;
  }
  throw new BadRequest(`Invalid timestamp for date ${text}`);
}

export function registerUsageAuditLogRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  const auditLog = async (before: Date) => {
    const { begin, end } = lastCompletedMonth(before);
    const hosts = [...new Set((await listServices(db, { binary: COMPUTE_BINARY })).map((s) => s.host))].sort();
    // No task_log records: no host has run, none is running, none is done.
    const done = 0;
    return {
      period_beginning: pythonStr(begin),
      period_ending: pythonStr(end),
      num_hosts: hosts.length,
      num_hosts_done: done,
      num_hosts_running: 0,
      num_hosts_not_run: hosts.length,
      hosts_not_run: hosts,
      total_instances: 0,
      total_errors: 0,
      overall_status: `${done === hosts.length ? 'ALL' : `${done} of ${hosts.length}`} hosts done. 0 errors.`,
      log: {},
    };
  };

  app.get('/os-instance_usage_audit_log', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-instance-usage-audit-log:list');
    return { instance_usage_audit_logs: await auditLog(new Date()) };
  });

  app.get<{ Params: { before: string } }>('/os-instance_usage_audit_log/:before', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-instance-usage-audit-log:show');
    return { instance_usage_audit_log: await auditLog(parseBefore(request.params.before)) };
  });
}

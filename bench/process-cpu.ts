/**
 * CPU and memory of processes, from /proc: what a benchmark reads to show where the time went (on two
 * cores, whichever process's CPU seconds near the run's wall time is the bottleneck).
 */
import { readdirSync, readFileSync } from 'node:fs';

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** User plus system CPU seconds a process has used so far (fields 14 and 15 of /proc/PID/stat, in ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0; // exited meanwhile
  }
}

/** The database and broker servers, by the name a report shows, to the command names of their processes. */
const SHARED_SERVICES: Record<string, string> = { mariadbd: 'mariadb', postgres: 'postgresql', 'beam.smp': 'rabbitmq' };

/** Pids of the machine's MariaDB, PostgreSQL (every backend) or RabbitMQ processes, by service. */
export function sharedServicePids(services: readonly string[]): Record<string, number[]> {
  const found: Record<string, number[]> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const service = SHARED_SERVICES[comm];
    if (service && services.includes(service)) (found[service] ??= []).push(Number(entry));
  }
  return found;
}

/** CPU seconds each named group of processes uses between `start` and `stop`. */
export class CpuMeter {
  private before = new Map<number, number>();

  constructor(private readonly groups: () => Record<string, number[]>) {}

  start(): void {
    this.before = new Map(
      Object.values(this.groups())
        .flat()
        .map((pid) => [pid, cpuSeconds(pid)]),
    );
  }

  /** Seconds per group; processes that appeared meanwhile count from zero. */
  stop(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.groups()).map(([name, pids]) => [
        name,
        Math.round(pids.reduce((sum, pid) => sum + cpuSeconds(pid) - (this.before.get(pid) ?? 0), 0) * 100) / 100,
      ]),
    );
  }
}

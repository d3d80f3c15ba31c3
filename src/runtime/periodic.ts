/**
 * Periodic tasks (heartbeats, resource reports, power-state sync). A run never overlaps the previous
 * one, a failure is logged and retried next period rather than stopping the task, and stop() waits for
 * the run in progress, so a draining service does not cut a report in half.
 */
import { getLogger } from '../common/log/logger.ts';

const log = getLogger('periodic');

export class PeriodicTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
  ) {}

  /** Runs the task now, then every interval. */
  start(runNow = true): void {
    this.stopped = false;
    if (runNow) this.tick();
    else this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    this.running = this.task()
      .catch((err: unknown) =>
        log.warn({ task: this.name, err: (err as Error).message }, 'periodic task failed; will retry'),
      )
      .finally(() => {
        this.running = null;
        this.schedule();
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}

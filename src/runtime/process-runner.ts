/**
 * Hosts services in this process until a signal: the first SIGTERM (or SIGINT) drains, stopping services
 * in reverse start order within `graceful_shutdown_timeout`; a second one exits at once.
 *
 * A signal that arrives while the services are still starting first lets the start-up end (`startup`,
 * within the same timeout), then drains what started. Closing the bus under a start-up in flight instead
 * made its next call fail, and the process exited with a start-up error instead of draining.
 */
import { flushLogs, getLogger } from '../common/log/logger.ts';
import type { RunningService } from './service.ts';

const log = getLogger('process');

export interface SignalHold {
  /** Whether a signal asked the process to stop: a start-up that fails after it is not an error. */
  readonly stopping: boolean;
  /** Aborted at the first signal: start-up steps that wait (for the conductor, say) give up on it. */
  readonly signal: AbortSignal;
}

export function holdUntilSignal(
  services: RunningService[],
  cleanup: () => Promise<void>,
  gracefulTimeoutSec: number,
  startup: () => Promise<unknown> = () => Promise.resolve(),
): SignalHold {
  let stopping = false;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      flushLogs();
      process.exit(1);
    }
    stopping = true;
    abort.abort();
    log.info({ signal }, 'draining: finishing work in flight (send the signal again to exit at once)');
    const timer = setTimeout(() => {
      log.error({ seconds: gracefulTimeoutSec }, 'graceful shutdown timed out; exiting');
      flushLogs();
      process.exit(1);
    }, gracefulTimeoutSec * 1000);
    timer.unref();
    void (async () => {
      await startup().catch(() => undefined);
      for (const service of [...services].reverse()) {
        await service
          .stop()
          .catch((err: Error) => log.error({ service: service.name, err: err.message }, 'stop failed'));
      }
      await cleanup().catch((err: Error) => log.error({ err: err.message }, 'cleanup failed'));
      log.info('stopped');
      flushLogs();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A bug in one handler must not take the whole service down; it is logged loudly instead.
  process.on('unhandledRejection', (reason) =>
    log.error({ err: reason instanceof Error ? reason.stack : String(reason) }, 'unhandled rejection'),
  );
  return {
    get stopping() {
      return stopping;
    },
    signal: abort.signal,
  };
}

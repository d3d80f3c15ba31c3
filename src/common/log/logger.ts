/**
 * Structured logging. Every line is JSON with the request id of the work it belongs to: the id lives in an
 * AsyncLocalStorage, set by the API when a request arrives and by the RPC server when a message arrives,
 * so code deep in a call chain logs it without passing it around. On a terminal the lines are prettified.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { RequestContext } from '../context.ts';

const contextStore = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `ctx` as the current request context for logging. */
export function withRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return contextStore.run(ctx, fn);
}

export function currentRequestContext(): RequestContext | undefined {
  return contextStore.getStore();
}

export type { Logger };

let root: Logger | undefined;

function level(): string {
  return process.env['STRATUS_LOG_LEVEL'] ?? (process.env['NODE_TEST_CONTEXT'] ? 'silent' : 'info');
}

function createRoot(): Logger {
  const options: LoggerOptions = {
    level: level(),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const ctx = contextStore.getStore();
      if (!ctx) return {};
      return { request_id: ctx.requestId, user_id: ctx.userId, project_id: ctx.projectId };
    },
  };
  const pretty = process.stdout.isTTY && process.env['STRATUS_LOG_FORMAT'] !== 'json';
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** A logger for one component (`conductor`, `api.compute`, `rpc.amqp`, ...). */
export function getLogger(component: string): Logger {
  root ??= createRoot();
  return root.child({ component });
}

/** Flushes buffered log lines, for a clean exit. */
export function flushLogs(): void {
  root?.flush();
}

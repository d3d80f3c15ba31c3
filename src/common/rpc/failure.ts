/**
 * How an error crosses an RPC call (as oslo.messaging carries a remote exception): the reply carries `{ class, message, trace, status }`;
 * the caller re-raises one of the project's declared (registered) errors as the same class, and anything
 * else as RemoteError, so `instanceof NotFound` works across services and nothing is silently lost.
 */
import { isDatabaseConnectionLost } from '../database-errors.ts';
import { lookupError, StratusError } from '../errors.ts';
import type { Failure } from './envelope.ts';
import { RemoteError } from './errors.ts';

function className(err: Error): string {
  // `class Foo extends Error {}` keeps name 'Error'; a DOMException's name ('AbortError') says more than its class.
  if (err.name && err.name !== 'Error') return err.name;
  return err.constructor.name || 'Error';
}

export function serializeFailure(err: unknown): Failure {
  // A driver's connection error has no class of its own: named, so the caller can tell it from a bug.
  if (isDatabaseConnectionLost(err)) {
    const message = `${(err as Error).message}: the database connection was lost while the request ran; it may or may not have been applied`;
    return { class: 'DBConnectionError', message, trace: (err as Error).stack ?? '', status: 503 };
  }
  // A RemoteError passing through a second service is sent on as the original error, not wrapped twice.
  if (err instanceof RemoteError) {
    return { class: err.excType, message: err.value, trace: err.traceback, status: err.status };
  }
  if (err instanceof StratusError) {
    return {
      class: className(err),
      message: err.message,
      trace: err.remoteTrace ?? err.stack ?? '',
      status: err.status,
    };
  }
  if (err instanceof Error) return { class: className(err), message: err.message, trace: err.stack ?? '', status: 500 };
  return { class: typeof err, message: String(err), trace: '', status: 500 };
}

export function deserializeFailure(failure: Failure): Error {
  const declared = lookupError(failure.class);
  if (declared) {
    const err = new declared(failure.message);
    err.remoteTrace = failure.trace;
    return err;
  }
  return new RemoteError(failure.class, failure.message, failure.trace);
}

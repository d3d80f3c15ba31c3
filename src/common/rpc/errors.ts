/**
 * The RPC layer's own declared errors. They are registered like the project's other errors, so one raised
 * behind a call (a nested call that timed out, say) reaches the original caller as the same class.
 */
import { declareError, StratusError } from '../errors.ts';

/** No reply arrived within the call's timeout (Nova's oslo_messaging.MessagingTimeout). */
export const MessagingTimeout = declareError(
  class MessagingTimeout extends StratusError {
    override readonly status = 504;
  },
);

/**
 * A message could not be handed to the broker, was refused by it (no queue of that name), or the
 * connection went away while a reply was awaited. Names the broker and what happened.
 */
export const MessageDeliveryFailure = declareError(
  class MessageDeliveryFailure extends StratusError {
    override readonly status = 503;
  },
);

/**
 * The handler's database connection was lost while it ran (a statement in flight when the server died:
 * oslo.db's DBConnectionError). Its outcome is unknown; an idempotent call can be made again.
 */
export const DBConnectionError = declareError(
  class DBConnectionError extends StratusError {
    override readonly status = 503;
  },
);

/** A message's args did not match the endpoint's schema: a caller/callee version mismatch, a bug. */
export const InvalidRpcArguments = declareError(
  class InvalidRpcArguments extends StratusError {
    override readonly status = 500;
  },
);

/** The callee has no endpoint by that name (Nova's UnsupportedVersion/NoSuchMethod). */
export const UnsupportedRpcMethod = declareError(
  class UnsupportedRpcMethod extends StratusError {
    override readonly status = 500;
  },
);

/**
 * A message written in a contract version its receiver does not read (newer than the receiver's, or of
 * another major), or a method the peers' version does not have: names both versions (Nova's
 * UnsupportedVersion).
 */
export const UnsupportedRpcVersion = declareError(
  class UnsupportedRpcVersion extends StratusError {
    override readonly status = 500;
  },
);

/** A call's reply does not match the reply schema of the method's contract: a version mismatch, a bug. */
export const InvalidRpcReply = declareError(
  class InvalidRpcReply extends StratusError {
    override readonly status = 500;
  },
);

/**
 * The callee raised something that is not one of the project's declared errors. Like Nova's RemoteError
 * it keeps the remote class name, message and traceback. Not registered: it never travels under its own
 * name, because a RemoteError re-raised by a service is sent on as the original class (see failure.ts).
 */
export class RemoteError extends StratusError {
  override readonly status = 500;

  constructor(
    /** Class name of the error raised on the remote side (`TypeError`). */
    readonly excType: string,
    /** Its message. */
    readonly value: string,
    /** Its stack, as text. */
    readonly traceback: string = '',
  ) {
    super(`Remote error: ${excType} ${value}`);
    this.remoteTrace = traceback;
  }
}

/** A one-line description of anything thrown; a dual-stack connect's AggregateError has no message of its own. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describeError).join(', ');
  if (err instanceof Error) return err.message || String((err as NodeJS.ErrnoException).code ?? err.name);
  return String(err);
}

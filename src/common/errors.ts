/**
 * The project's declared errors. Each carries the HTTP status the API answers with, so a NotFound raised
 * in the conductor and re-raised on the API side of an RPC call becomes a 404 without translation.
 *
 * Every class is registered by name: the RPC layer re-creates a remote error as the same class on the
 * caller (as oslo.messaging re-raises a remote exception), and anything not registered arrives as RemoteError.
 */

export type ErrorClass = new (message: string) => StratusError;

const registry = new Map<string, ErrorClass>();

export class StratusError extends Error {
  /** HTTP status the API maps this error to. */
  readonly status: number = 500;
  /** Set on an error re-created from an RPC reply: the stack of the process that raised it. */
  remoteTrace?: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export function registerError(cls: ErrorClass): void {
  registry.set(cls.name, cls);
}

export function lookupError(name: string): ErrorClass | undefined {
  return registry.get(name);
}

/** Registers `cls` and returns it: `export const Foo = declareError(class Foo extends StratusError {...})`. */
export function declareError<T extends ErrorClass>(cls: T): T {
  registerError(cls);
  return cls;
}

export const BadRequest = declareError(
  class BadRequest extends StratusError {
    override readonly status = 400;
  },
);
export const Unauthorized = declareError(
  class Unauthorized extends StratusError {
    override readonly status = 401;
  },
);
export const Forbidden = declareError(
  class Forbidden extends StratusError {
    override readonly status = 403;
  },
);
export const NotFound = declareError(
  class NotFound extends StratusError {
    override readonly status = 404;
  },
);
export const Conflict = declareError(
  class Conflict extends StratusError {
    override readonly status = 409;
  },
);
/** The instance is in a state that does not allow the action (Nova's InstanceInvalidState). */
export const InstanceInvalidState = declareError(
  class InstanceInvalidState extends StratusError {
    override readonly status = 409;
  },
);
export const QuotaExceeded = declareError(
  class QuotaExceeded extends StratusError {
    override readonly status = 403;
  },
);
export const NoValidHost = declareError(
  class NoValidHost extends StratusError {
    override readonly status = 500;
  },
);
/** Raised by a compute driver when a guest could not be built; the conductor reschedules on it. */
export const BuildFailed = declareError(
  class BuildFailed extends StratusError {
    override readonly status = 500;
  },
);
/**
 * A build failed for a reason no other host would fix (a corrupt image, a format the driver cannot boot,
 * a flavor too small for the image): the conductor puts it in ERROR at once instead of rescheduling.
 */
export const BuildAborted = declareError(
  class BuildAborted extends StratusError {
    override readonly status = 500;
  },
);
/** A resource claim lost a race or no longer fits; the scheduler tries the next host. */
export const ClaimFailed = declareError(
  class ClaimFailed extends StratusError {
    override readonly status = 409;
  },
);
export const ConfigError = declareError(
  class ConfigError extends StratusError {
    override readonly status = 500;
  },
);
export const DatabaseError = declareError(
  class DatabaseError extends StratusError {
    override readonly status = 500;
  },
);
export const NotSupported = declareError(
  class NotSupported extends StratusError {
    override readonly status = 400;
  },
);
export const ServiceUnavailable = declareError(
  class ServiceUnavailable extends StratusError {
    override readonly status = 503;
  },
);
/** The guest or its host has no console of the asked kind (VNC off, a driver without consoles). */
export const ConsoleTypeUnavailable = declareError(
  class ConsoleTypeUnavailable extends StratusError {
    override readonly status = 400;
  },
);
/** The guest has no agent to act inside it (Nova's InstanceAgentNotEnabled: no qemu guest agent). */
export const InstanceAgentNotEnabled = declareError(
  class InstanceAgentNotEnabled extends StratusError {
    override readonly status = 409;
  },
);
/** Setting a guest's admin password failed (Nova's InstancePasswordSetFailed). */
export const InstancePasswordSetFailed = declareError(
  class InstancePasswordSetFailed extends StratusError {
    override readonly status = 409;
  },
);
/** A live migration that cannot be done or that failed (Nova's MigrationError). */
export const MigrationError = declareError(
  class MigrationError extends StratusError {
    override readonly status = 500;
  },
);

/** A resize or migration the driver cannot do (Nova's ResizeError: a disk it would shrink, ...). */
export const ResizeError = declareError(
  class ResizeError extends StratusError {
    override readonly status = 500;
  },
);

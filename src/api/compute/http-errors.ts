/**
 * Answers of the compute API that only the HTTP layer gives (no service raises them, so they are not
 * declared for the RPC layer): 501 for what the host or driver cannot do, 410 for the APIs Nova removed.
 * The default messages are the ones Nova's bodies carry when it gives no explanation of its own.
 */
import { StratusError } from '../../common/errors.ts';

export class NotImplemented extends StratusError {
  override readonly status = 501;
  constructor(message = 'The requested functionality is not supported.') {
    super(message);
  }
}

export class Gone extends StratusError {
  override readonly status = 410;
  constructor(message = 'This resource is no longer available.  No forwarding address is given.') {
    super(message);
  }
}

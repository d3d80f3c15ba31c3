/**
 * Calling again through a bus outage. A call fails at once with MessageDeliveryFailure when the
 * connection to the broker is lost (before or while it waits for its reply), and with MessagingTimeout
 * when its request or reply was lost with a process (a scheduler killed after it took the request, a
 * broker restart that dropped the caller's reply queue). For a call whose handler is idempotent (the
 * scheduler's select_destinations: a claim replaces the consumer's previous one) the caller can simply
 * send it again once the transport has reconnected, instead of failing the work. The same holds when
 * a database restart cut a statement of the handler (DBConnectionError) or of the caller's own work
 * between attempts.
 */
import { getLogger } from '../log/logger.ts';
import { isDatabaseConnectionLost } from '../database-errors.ts';
import { DBConnectionError, MessageDeliveryFailure, MessagingTimeout } from './errors.ts';

const log = getLogger('rpc.client');

/** Runs `send` again while it fails for a lost message, every `intervalMs`, until `patienceMs` have passed. */
export async function retryWhileBusAway<T>(
  what: string,
  send: () => Promise<T>,
  patienceMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const lost =
        err instanceof MessageDeliveryFailure ||
        err instanceof MessagingTimeout ||
        err instanceof DBConnectionError ||
        isDatabaseConnectionLost(err);
      if (!lost || Date.now() + intervalMs > deadline) throw err;
      log.warn({ what, attempt, err: (err as Error).message }, 'the call or its reply was lost; calling again');
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

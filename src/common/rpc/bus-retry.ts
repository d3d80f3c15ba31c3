/**
 * Calling again through a bus outage. A call fails at once with MessageDeliveryFailure when the
 * connection to the broker is lost (before or while it waits for its reply); for a call whose handler is
 * idempotent (the scheduler's select_destinations: a claim replaces the consumer's previous one) the
 * caller can simply send it again once the transport has reconnected, instead of failing the work.
 */
import { getLogger } from '../log/logger.ts';
import { MessageDeliveryFailure } from './errors.ts';

const log = getLogger('rpc.client');

/** Runs `send` again while it fails with MessageDeliveryFailure, every `intervalMs`, for at most `patienceMs`. */
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
      if (!(err instanceof MessageDeliveryFailure) || Date.now() + intervalMs > deadline) throw err;
      log.warn({ what, attempt, err: err.message }, 'the bus is away; calling again once it is back');
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

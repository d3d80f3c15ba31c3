/**
 * A service started while RabbitMQ is unreachable waits for it, as it does for the database: a connection
 * attempt `[oslo_messaging_rabbit] rabbit_retry_interval` seconds after the first, each wait
 * `rabbit_retry_backoff` longer up to `rabbit_interval_max` (oslo.messaging's schedule), for at most
 * `startup_timeout` seconds, with a log line per failed attempt. A broker that answers and refuses (user,
 * password, virtual host) is not waited for: waiting would not change its answer.
 */
import type { Config } from '../common/config/load-config.ts';
import { getLogger } from '../common/log/logger.ts';
import type { Transport } from '../common/rpc/index.ts';

const log = getLogger('bus');

const REFUSED = /ACCESS.REFUSED|NOT_ALLOWED|ConnectionOpenOk/;

export async function connectAtStartup(
  transport: Transport,
  config: Config,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => number = Date.now,
): Promise<void> {
  const rabbit = config.oslo_messaging_rabbit;
  const deadline = now() + rabbit.startup_timeout * 1000;
  let wait = rabbit.rabbit_retry_interval;
  for (let attempt = 1; ; attempt++) {
    try {
      await transport.connect();
      if (attempt > 1) log.info({ attempt }, 'connected to RabbitMQ');
      return;
    } catch (err) {
      const message = (err as Error).message;
      const left = deadline - now();
      if (REFUSED.test(message) || left <= 0) throw err;
      const pause = Math.min(wait * 1000, left);
      log.warn(
        { attempt, retryInSec: pause / 1000, giveUpInSec: Math.round(left / 1000) },
        `RabbitMQ unreachable at start-up, trying again: ${message}`,
      );
      await sleep(pause);
      wait = Math.min(wait + rabbit.rabbit_retry_backoff, rabbit.rabbit_interval_max);
    }
  }
}

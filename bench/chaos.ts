/**
 * Benchmark `chaos`: the fault scenario of test/helpers/chaos.ts (a boot storm and a delete storm on a
 * multi-process cloud with a RabbitMQ and a MariaDB of its own, killing with -9 the api, conductor,
 * scheduler and a compute and restarting the broker and the database during each) and its counts.
 *   npm run bench -- chaos [--servers 1000] [--computes 4] [--concurrency 20] [--settle 180]
 *                          [--spawn-delay 200] [--service-down-time 20]
 * STRATUS_CHAOS_LOGS=<dir> keeps every service's output there (a killed one's as it died) and, once a
 * second, each node's VCPU use and the claims behind it (usage.log).
 */
import { runChaos } from '../test/helpers/chaos.ts';

const say = (msg: string) => process.stderr.write(`[chaos] ${msg}\n`);

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  return {
    ...(await runChaos({
      servers: Number(args['servers'] ?? 1000),
      computes: Number(args['computes'] ?? 4),
      concurrency: Number(args['concurrency'] ?? 20),
      settleMs: Number(args['settle'] ?? 180) * 1000,
      spawnDelayMs: Number(args['spawn-delay'] ?? 200),
      serviceDownTime: Number(args['service-down-time'] ?? 20),
      say,
    })),
  };
}

/**
 * One scheduler of the benchmark's claim phase, run as its own process (forked by bench/scheduler.ts):
 * its own SchedulerManager, its own view of the fleet and its own connection pool, as a scheduler service
 * has. It loads its view, says `ready`, waits for `go`, then places `count` single-instance requests with
 * real claims, `concurrency` at a time (a scheduler service handles several RPC calls at once), and
 * reports what it placed and how long it took. With `claimsOnly`, each placement is the claim alone on a
 * random node: what the database path of a claim costs and allows, without the scheduler's decision.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig, type RawOverrides } from '../src/common/config/load-config.ts';
import { adminContext } from '../src/common/context.ts';
import { openDatabase } from '../src/common/db/database.ts';
import { ClaimFailed, NoValidHost } from '../src/common/errors.ts';
import { claimResources, resourcesForFlavor } from '../src/placement/claims.ts';
import { SchedulerManager } from '../src/scheduler/manager.ts';
import { testSpec } from '../test/helpers/request-spec.ts';

export interface ClaimerOrders {
  url: string;
  overrides: RawOverrides;
  count: number;
  concurrency: number;
  /** Claims alone (`--claims-only`): claimResources on a random node, no scheduling decision. */
  claimsOnly: boolean;
}

export type ClaimerMessage =
  | { kind: 'ready' }
  | { kind: 'done'; placed: number; refused: number; startedAt: number; endedAt: number; cpuSeconds: number };

const send = (message: ClaimerMessage) => process.send!(message);

const orders = JSON.parse(process.argv[2]!) as ClaimerOrders;
const config = loadConfig([], orders.overrides);
const database = await openDatabase(orders.url, {
  maxPoolSize: config.database.max_pool_size,
  checkpointInBackground: true,
});
const manager = new SchedulerManager(database, config);
const spec = testSpec({}, { num_instances: 1 });
// The first request loads the view; it is not counted.
await manager.selectDestinations(adminContext(), spec, [randomUUID()]);
const nodes = (await database.db.selectFrom('compute_nodes').select('uuid').execute()).map((n) => n.uuid);
const resources = resourcesForFlavor(spec.flavor);
const tier = spec.storage_tier;
/** One placement: a scheduler's, or with claimsOnly the claim alone on a node picked at random. */
async function place(): Promise<void> {
  if (!orders.claimsOnly) {
    await manager.selectDestinations(adminContext(), spec, [randomUUID()]);
    return;
  }
  try {
    await claimResources(database.db, randomUUID(), nodes[Math.floor(Math.random() * nodes.length)]!, resources, tier);
  } catch (err) {
    throw err instanceof ClaimFailed ? new NoValidHost(err.message) : err;
  }
}
send({ kind: 'ready' });
await new Promise<void>((resolve) => process.once('message', () => resolve()));

let placed = 0;
let refused = 0;
let next = 0;
const startedAt = Date.now();
const cpuAtStart = process.cpuUsage();
await Promise.all(
  Array.from({ length: orders.concurrency }, async () => {
    while (next < orders.count) {
      next++;
      try {
        await place();
        placed++;
      } catch (err) {
        if (!(err instanceof NoValidHost)) throw err;
        refused++;
      }
    }
  }),
);
const cpu = process.cpuUsage(cpuAtStart);
send({ kind: 'done', placed, refused, startedAt, endedAt: Date.now(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
await database.close();
process.disconnect();

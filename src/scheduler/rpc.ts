/** The scheduler's side of its contract (src/wire/contracts/scheduler.ts): the manager's handlers. */
import { serveContract } from '../wire/contract.ts';
import { schedulerContract } from '../wire/contracts/scheduler.ts';
import type { SchedulerManager } from './manager.ts';

export function schedulerEndpoints(manager: SchedulerManager) {
  return serveContract(schedulerContract, {
    select_destinations: (ctx, a) => manager.selectDestinations(ctx, a.request_spec, a.instance_uuids),
  });
}

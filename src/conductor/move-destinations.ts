/**
 * The scheduler's choice of where a server moves (cold migration and resize, evacuate, live migration):
 * its stored request spec without the host its boot asked for (moveRequestSpec), the host the move names
 * if any, one instance, and never the nodes it is on now unless it may stay (a resize to the same host).
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { StratusError } from '../common/errors.ts';
import type { Flavor } from '../objects/flavors.ts';
import { flavorSpec } from '../objects/instance-payload.ts';
import { nodesOfInstances, type Instance } from '../objects/instances.ts';
import { getRequestSpec, moveRequestSpec } from '../objects/request-specs.ts';
import type { SchedulerRpcApi } from '../wire/contracts/scheduler.ts';
import type { Selection } from '../wire/messages/request-spec.ts';

export interface MoveDestinationRequest {
  /** The host the move names (a target host, not forced). */
  requestedHost?: string;
  /** The flavor the server will have there (a resize); its own otherwise. */
  flavor?: Flavor;
  /** The server may stay on its node (`allow_resize_to_same_host`). */
  mayStay?: boolean;
  /** Nodes refused already for this move (live migration's retries). */
  alsoIgnore?: readonly [string, string][];
}

/** The chosen destination first, then its alternates; NoValidHost's message when there is none. */
export async function moveDestinations(
  db: Db,
  scheduler: SchedulerRpcApi,
  ctx: RequestContext,
  instance: Instance,
  request: MoveDestinationRequest = {},
): Promise<[Selection, ...Selection[]]> {
  const spec = await getRequestSpec(db, instance.uuid);
  const own = request.mayStay ? [] : await nodesOfInstances(db, [instance.uuid]);
  const selections = await scheduler.selectDestinations(
    ctx,
    {
      ...moveRequestSpec(spec, request.requestedHost),
      ...(request.flavor ? { flavor: flavorSpec(request.flavor) } : {}),
      num_instances: 1,
      ignore_hosts: [...own, ...(request.alsoIgnore ?? [])],
    },
    [instance.uuid],
  );
  const [chosen, ...alternates] = selections[0] ?? [];
  if (!chosen) throw new StratusError('No valid host was found. ');
  return [chosen, ...alternates];
}

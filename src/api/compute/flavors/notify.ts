/**
 * flavor.create, flavor.update and flavor.delete as Nova's Flavor object sends them: after the change,
 * with the extra specs and projects it had loaded at that point (null where it had not: a created
 * flavor has no extra specs loaded, a deleted one neither, nor projects). Nova sends flavor.update for
 * a description change, an extra spec set or removed, and a project given or refused access.
 */
import type { RequestContext } from '../../../common/context.ts';
import { getLogger } from '../../../common/log/logger.ts';
import { flavorPayload } from '../../../common/notifications/payload-fields.ts';
import { flavorAccessList, getFlavor, type Flavor } from '../../../objects/flavors.ts';
import type { ComputeApiDeps } from '../deps.ts';

const log = getLogger('api.notifications');

export async function notifyFlavor(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  action: 'create' | 'update' | 'delete',
  flavor: Flavor | string,
): Promise<void> {
  if (!deps.notifications.enabled) return;
  try {
    const db = deps.database.db;
    const current = typeof flavor === 'string' ? await getFlavor(db, flavor) : flavor;
    const extraSpecs = action === 'update' ? current.extra_specs : null;
    const projects = action === 'delete' ? null : await flavorAccessList(db, current.flavorid);
    deps.notifications.send(ctx, `flavor.${action}`, () => flavorPayload(current, extraSpecs, projects));
  } catch (err) {
    // The change is made: a notification that cannot be built is logged, never the request's failure.
    log.error(
      { err: (err as Error).message, flavor: typeof flavor === 'string' ? flavor : flavor.flavorid },
      `flavor.${action} not sent`,
    );
  }
}

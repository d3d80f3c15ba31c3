/**
 * The flavor a request names, as its project may see it: public flavors, and private ones the project
 * was given access to; admins see all. Anything else is the same 404 as an unknown flavor.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { NotFound } from '../../../common/errors.ts';
import { flavorAccessList, getFlavor, type Flavor } from '../../../objects/flavors.ts';

export async function visibleFlavor(db: Db, ctx: RequestContext, flavorId: string): Promise<Flavor> {
  const flavor = await getFlavor(db, flavorId);
  if (flavor.is_public || ctx.isAdmin) return flavor;
  if ((await flavorAccessList(db, flavorId)).includes(ctx.projectId ?? '')) return flavor;
  throw new NotFound(`Flavor ${flavorId} could not be found.`);
}

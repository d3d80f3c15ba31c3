/**
 * Flavor access (admin): who may use a private flavor. GET /flavors/{id}/os-flavor-access and
 * POST /flavors/{id}/action with addTenantAccess or removeTenantAccess.
 */
import { Type } from 'typebox';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { addFlavorAccess, flavorAccessList, getFlavor, removeFlavorAccess } from '../../../objects/flavors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { actionName, validateBody } from '../validate.ts';
import { notifyFlavor } from './notify.ts';

const Tenant = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
const ADD = Type.Object({ addTenantAccess: Tenant }, { additionalProperties: false });
const REMOVE = Type.Object({ removeTenantAccess: Tenant }, { additionalProperties: false });

async function accessView(db: Db, flavorId: string) {
  const projects = await flavorAccessList(db, flavorId);
  return { flavor_access: projects.map((tenant_id) => ({ flavor_id: flavorId, tenant_id })) };
}

/** Nova asks Keystone whether the project exists; Stratus' identity tables are in the same database. */
async function projectExists(db: Db, projectId: string): Promise<boolean> {
  return (await db.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst()) !== undefined;
}

export function registerFlavorAccessRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  type Params = { Params: { id: string } };

  app.get<Params>('/flavors/:id/os-flavor-access', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-access');
    const flavor = await getFlavor(db, request.params.id);
    if (flavor.is_public) throw new NotFound('Access list not available for public flavors.');
    return accessView(db, flavor.flavorid);
  });

  app.post<Params>('/flavors/:id/action', async (request) => {
    const body = request.body;
    const action = actionName(body);
    const flavorId = request.params.id;
    if (action === 'addTenantAccess') {
      authorize(request.ctx, 'os_compute_api:os-flavor-access:add_tenant_access');
      const { tenant } = validateBody<{ addTenantAccess: { tenant: string } }>(ADD, body).addTenantAccess;
      if (!(await projectExists(db, tenant))) throw new BadRequest(`Project ID ${tenant} is not a valid project.`);
      await addFlavorAccess(db, flavorId, tenant);
      await notifyFlavor(deps, request.ctx, 'update', flavorId);
      return accessView(db, flavorId);
    }
    if (action === 'removeTenantAccess') {
      authorize(request.ctx, 'os_compute_api:os-flavor-access:remove_tenant_access');
      // No existence check here: access of a project deleted since must still be removable.
      const { tenant } = validateBody<{ removeTenantAccess: { tenant: string } }>(REMOVE, body).removeTenantAccess;
      await removeFlavorAccess(db, flavorId, tenant);
      await notifyFlavor(deps, request.ctx, 'update', flavorId);
      return accessView(db, flavorId);
    }
    throw new BadRequest(`There is no such action: ${action}`);
  });
}

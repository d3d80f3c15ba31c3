/** GET /servers/{id} and PUT /servers/{id} (rename, describe, access addresses, disk config, hostname). */
import { now } from '../../../common/db/schema.ts';
import { updateInstance, type InstanceChanges } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { apiInstanceUpdatePayload } from '../notifications/instance-update.ts';
import { atLeast } from '../microversion.ts';
import { validateBody } from '../validate.ts';
import { autoDiskConfig, canonicalIpv6 } from './disk-config.ts';
import { findServerFor } from './lookup.ts';
import { updateServerSchema, type UpdateServerBody } from './schemas.ts';
import { loadServerViewData, serverView } from './view.ts';

type IdParams = { Params: { id: string } };

/** Server show: every attribute, and server_groups (2.71), which Nova's detailed list leaves out. */
const SHOW = { extended: true, hostStatus: true, serverGroups: true };

export function registerServerShowRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get<IdParams>('/servers/:id', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:servers:show');
    const data = await loadServerViewData(db, request, [instance.uuid], { serverGroups: true });
    return { server: serverView(request, instance, data, deps.config, SHOW) };
  });

  app.put<IdParams>('/servers/:id', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:servers:update');
    const { server } = validateBody<UpdateServerBody>(updateServerSchema(request), request.body);
    const changes: InstanceChanges = {};
    if (server.name !== undefined) changes.display_name = server.name.trim();
    if (server.description !== undefined) changes.display_description = server.description;
    // Fields the shared instance update does not cover; plain column writes with no state to guard.
    const columns: { access_ip_v4?: string; access_ip_v6?: string; hostname?: string; auto_disk_config?: number } = {};
    if (server.accessIPv4 !== undefined) columns.access_ip_v4 = server.accessIPv4;
    if (server.accessIPv6 !== undefined) columns.access_ip_v6 = canonicalIpv6(server.accessIPv6);
    if (server.hostname !== undefined) columns.hostname = server.hostname;
    const autoDisk = autoDiskConfig(server['OS-DCF:diskConfig']);
    if (autoDisk !== undefined) columns.auto_disk_config = autoDisk ? 1 : 0;
    if (Object.keys(columns).length) {
      await db
        .updateTable('instances')
        .set({ ...columns, updated_at: now() })
        .where('uuid', '=', instance.uuid)
        .where('deleted', '=', 0)
        .execute();
    }
    const updated = await updateInstance(db, instance.uuid, changes);
    if (deps.notifications.instanceUpdates && (Object.keys(columns).length || Object.keys(changes).length)) {
      await deps.notifications.instanceUpdate(request.ctx, () =>
        apiInstanceUpdatePayload(db, request.ctx, updated, instance.display_name),
      );
    }
    const data = await loadServerViewData(db, request, [updated.uuid], { serverGroups: true });
    // Before 2.75 Nova's update response leaves out the extended attributes that show has.
    const full = atLeast(request, '2.75');
    const options = { extended: full, hostStatus: full, serverGroups: true };
    return { server: serverView(request, updated, data, deps.config, options) };
  });
}

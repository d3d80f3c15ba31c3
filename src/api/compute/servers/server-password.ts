/**
 * GET and DELETE /servers/{id}/os-server-password: the encrypted password the guest posted to the
 * metadata service ('' when none), and forgetting it. Clearing changes nothing on the guest, so neither
 * a lock nor the server's state forbids it, as in Nova.
 */
import { clearServerPassword, serverPassword } from '../../../objects/server-password.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { findServerFor } from './lookup.ts';

type Params = { Params: { id: string } };

export function registerServerPasswordRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get<Params>('/servers/:id/os-server-password', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:os-server-password:show');
    return { password: await serverPassword(db, instance.uuid) };
  });

  app.delete<Params>('/servers/:id/os-server-password', async (request, reply) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:os-server-password:clear');
    await clearServerPassword(db, instance.uuid);
    void reply.code(204);
  });
}

/**
 * Server metadata: GET/PUT/POST /servers/{id}/metadata and GET/PUT/DELETE /servers/{id}/metadata/{key}.
 * Writes are allowed in the states Nova allows them (a launched server that is active, paused,
 * suspended or stopped, and not locked).
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Conflict, NotFound } from '../../../common/errors.ts';
import { now } from '../../../common/db/schema.ts';
import { VmState } from '../../../wire/messages/instance-states.ts';
import { assertNotLocked, type Instance } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { checkMetadataItems } from '../quotas/enforce.ts';
import { validateBody } from '../validate.ts';
import { findServerFor } from './lookup.ts';
import { MetadataBodySchema, MetaItemBodySchema } from './schemas.ts';

const WRITABLE_STATES: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED];

function checkWritable(instance: Instance, isAdmin: boolean, what: 'update metadata' | 'delete metadata'): void {
  assertNotLocked(instance, isAdmin);
  const cannot = (attr: string, state: string) =>
    new Conflict(`Cannot '${what}' instance ${instance.uuid} while it is in ${attr} ${state}`);
  if (!WRITABLE_STATES.includes(instance.vm_state)) throw cannot('vm_state', instance.vm_state);
  if (!instance.launched_at) throw cannot('launched_at', 'None');
}

/** Sets `items` (and, with `replace`, drops every other key) in one transaction. */
async function writeMetadata(
  db: Db,
  uuid: string,
  items: Record<string, string>,
  replace: boolean,
): Promise<Record<string, string>> {
  await db.transaction().execute(async (trx) => {
    let remove = trx.deleteFrom('instance_metadata').where('instance_uuid', '=', uuid);
    if (!replace) {
      const keys = Object.keys(items);
      if (!keys.length) return;
      remove = remove.where('key', 'in', keys);
    }
    await remove.execute();
    const rows = Object.entries(items).map(([key, value]) => ({ instance_uuid: uuid, key, value }));
    if (rows.length) await trx.insertInto('instance_metadata').values(rows).execute();
    await trx.updateTable('instances').set({ updated_at: now() }).where('uuid', '=', uuid).execute();
  });
  return readMetadata(db, uuid);
}

async function readMetadata(db: Db, uuid: string): Promise<Record<string, string>> {
  const rows = await db
    .selectFrom('instance_metadata')
    .select(['key', 'value'])
    .where('instance_uuid', '=', uuid)
    .orderBy('id')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

type Params = { Params: { id: string } };
type KeyParams = { Params: { id: string; key: string } };

export function registerServerMetadataRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  /** The metadata_items quota applies to what the server would have after the write, as in Nova. */
  const checkMetadataQuota = (
    ctx: RequestContext,
    instance: Instance,
    items: Record<string, string>,
    replace: boolean,
  ) => {
    const keys = new Set(Object.keys(items));
    if (!replace) for (const key of Object.keys(instance.metadata)) keys.add(key);
    return checkMetadataItems(db, deps.config, ctx, keys.size);
  };

  app.get<Params>('/servers/:id/metadata', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:server-metadata:index');
    return { metadata: await readMetadata(db, instance.uuid) };
  });

  // POST merges into the existing metadata, PUT replaces all of it.
  for (const [method, replace] of [
    ['POST', false],
    ['PUT', true],
  ] as const) {
    app.route<Params>({
      method,
      url: '/servers/:id/metadata',
      handler: async (request) => {
        const rule = replace ? 'update_all' : 'create';
        const instance = await findServerFor(
          db,
          request.ctx,
          request.params.id,
          `os_compute_api:server-metadata:${rule}`,
        );
        const { metadata } = validateBody<{ metadata: Record<string, string> }>(MetadataBodySchema, request.body);
        checkWritable(instance, request.ctx.isAdmin, 'update metadata');
        await checkMetadataQuota(request.ctx, instance, metadata, replace);
        return { metadata: await writeMetadata(db, instance.uuid, metadata, replace) };
      },
    });
  }

  app.get<KeyParams>('/servers/:id/metadata/:key', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:server-metadata:show');
    const metadata = await readMetadata(db, instance.uuid);
    const value = metadata[request.params.key];
    if (value === undefined) throw new NotFound('Metadata item was not found');
    return { meta: { [request.params.key]: value } };
  });

  app.put<KeyParams>('/servers/:id/metadata/:key', async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:server-metadata:update');
    const { meta } = validateBody<{ meta: Record<string, string> }>(MetaItemBodySchema, request.body);
    if (!(request.params.key in meta)) throw new BadRequest('Request body and URI mismatch');
    checkWritable(instance, request.ctx.isAdmin, 'update metadata');
    await checkMetadataQuota(request.ctx, instance, meta, false);
    await writeMetadata(db, instance.uuid, meta, false);
    return { meta };
  });

  app.delete<KeyParams>('/servers/:id/metadata/:key', async (request, reply) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:server-metadata:delete');
    if (!(request.params.key in instance.metadata)) throw new NotFound('Metadata item was not found');
    checkWritable(instance, request.ctx.isAdmin, 'delete metadata');
    await db
      .deleteFrom('instance_metadata')
      .where('instance_uuid', '=', instance.uuid)
      .where('key', '=', request.params.key)
      .execute();
    void reply.code(204);
  });
}

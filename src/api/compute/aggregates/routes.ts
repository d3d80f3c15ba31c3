/**
 * os-aggregates (admin): host aggregates, their hosts and metadata, as Nova's API has them. The bodies
 * keep Nova's quirks: create answers without hosts and metadata, every aggregate shows `deleted: false`,
 * the uuid appears from 2.41, and the actions (add_host, remove_host, set_metadata) answer 200 with the
 * aggregate. A change that would put a host in two zones or move servers between zones is refused:
 * 409 for add_host/remove_host, 400 for update/set_metadata/delete, as Nova maps its errors.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest, Conflict, NotFound } from '../../../common/errors.ts';
import {
  AZ_KEY,
  InvalidAggregateAction,
  addAggregateHost,
  createAggregate,
  deleteAggregate,
  getAggregate,
  listAggregates,
  removeAggregateHost,
  setAggregateMetadata,
  updateAggregate,
  type Aggregate,
} from '../../../objects/aggregates.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { aggregatePayload } from '../notifications/payloads.ts';
import { atLeast } from '../microversion.ts';
import { AzName, Metadata, Name, PaddedName } from '../schema-types.ts';
import { computeServiceOf } from '../servers/host-state.ts';
import { naiveTime } from '../timestamps.ts';
import { actionName, validateBody } from '../validate.ts';

const Zone = Type.Unsafe<string | null>({ oneOf: [AzName, { type: 'null' }] });
const Host = Type.String({ pattern: '^[a-zA-Z0-9-._]*$', minLength: 1, maxLength: 255 });

const CREATE = Type.Object(
  {
    aggregate: Type.Object({ name: Name, availability_zone: Type.Optional(Zone) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
const UPDATE = Type.Object(
  {
    aggregate: Type.Unsafe<{ name?: string; availability_zone?: string | null }>({
      type: 'object',
      properties: { name: PaddedName, availability_zone: Zone },
      additionalProperties: false,
      anyOf: [{ required: ['name'] }, { required: ['availability_zone'] }],
    }),
  },
  { additionalProperties: false },
);
const hostAction = (action: string) =>
  Type.Object(
    { [action]: Type.Object({ host: Host }, { additionalProperties: false }) },
    { additionalProperties: false },
  );
const ADD_HOST = hostAction('add_host');
const REMOVE_HOST = hostAction('remove_host');
const SET_METADATA = Type.Object(
  {
    set_metadata: Type.Object(
      { metadata: Metadata({ values: { type: ['string', 'null'], maxLength: 255 } }) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export function aggregateView(request: FastifyRequest, aggregate: Aggregate, brief = false): Record<string, unknown> {
  const view: Record<string, unknown> = {
    availability_zone: aggregate.availability_zone,
    created_at: naiveTime(aggregate.created_at),
    deleted: false,
    deleted_at: null,
    id: aggregate.id,
    name: aggregate.name,
    updated_at: naiveTime(aggregate.updated_at),
  };
  // Nova's create answer leaves out hosts and metadata.
  if (!brief) {
    view['hosts'] = [...aggregate.hosts];
    view['metadata'] = { ...aggregate.metadata };
  }
  if (atLeast(request, '2.41')) view['uuid'] = aggregate.uuid;
  return view;
}

/** Nova's validate_integer on the path id. */
export function aggregateId(raw: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new BadRequest('Invalid input received: id must be an integer');
  return Number(raw);
}

/** Runs an add/remove_host change, answering Nova's 409 for a refused zone change. */
async function asConflict<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof InvalidAggregateAction) throw new Conflict(err.message);
    throw err;
  }
}

export function registerAggregateRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  type Params = { Params: { id: string } };
  const policy = (request: FastifyRequest, action: string) =>
    authorize(request.ctx, `os_compute_api:os-aggregates:${action}`);
  const notify = (request: FastifyRequest, event: string, aggregate: Parameters<typeof aggregatePayload>[0]) =>
    deps.notifications.send(request.ctx, `aggregate.${event}`, () => aggregatePayload(aggregate));
  // The aggregate before a change, for the .start notification (only read when notifications are sent).
  const before = (id: number) => (deps.notifications.enabled ? getAggregate(db, id) : Promise.resolve(null));

  app.get('/os-aggregates', async (request) => {
    policy(request, 'index');
    return { aggregates: (await listAggregates(db)).map((a) => aggregateView(request, a)) };
  });

  app.post('/os-aggregates', async (request) => {
    policy(request, 'create');
    const { aggregate } = validateBody<{ aggregate: { name: string; availability_zone?: string | null } }>(
      CREATE,
      request.body,
    );
    const name = aggregate.name.trim();
    const zone = aggregate.availability_zone?.trim() || null;
    // As Nova: the uuid is chosen first, and the start names it before there is an id or any host.
    const uuid = randomUUID();
    notify(request, 'create.start', { id: null, uuid, name, hosts: null, metadata: zone ? { [AZ_KEY]: zone } : null });
    const created = await createAggregate(db, name, zone, uuid);
    notify(request, 'create.end', created);
    return { aggregate: aggregateView(request, created, true) };
  });

  app.get<Params>('/os-aggregates/:id', async (request) => {
    policy(request, 'show');
    return { aggregate: aggregateView(request, await getAggregate(db, aggregateId(request.params.id))) };
  });

  app.put<Params>('/os-aggregates/:id', async (request) => {
    policy(request, 'update');
    const { aggregate } = validateBody<{ aggregate: { name?: string; availability_zone?: string | null } }>(
      UPDATE,
      request.body,
    );
    const id = aggregateId(request.params.id);
    const name = aggregate.name?.trim();
    const old = await before(id);
    // Nova renames first (update_prop), then changes the zone (update_metadata); both report the new name.
    const renamed = old && name !== undefined ? { ...old, name } : null;
    if (renamed) notify(request, 'update_prop.start', renamed);
    const updated = await updateAggregate(db, id, {
      ...(name !== undefined ? { name } : {}),
      ...(aggregate.availability_zone !== undefined ? { availability_zone: aggregate.availability_zone } : {}),
    });
    if (renamed) notify(request, 'update_prop.end', renamed);
    if (old && aggregate.availability_zone !== undefined) {
      notify(request, 'update_metadata.start', renamed ?? old);
      notify(request, 'update_metadata.end', updated);
    }
    return { aggregate: aggregateView(request, updated) };
  });

  // 200 with no body, as Nova answers (it keeps 200 for compatibility).
  app.delete<Params>('/os-aggregates/:id', async (request, reply) => {
    policy(request, 'delete');
    const id = aggregateId(request.params.id);
    const old = await before(id);
    // Nova sends the start before it finds the aggregate still has hosts (and refuses).
    if (old) notify(request, 'delete.start', old);
    await deleteAggregate(db, id);
    if (old) notify(request, 'delete.end', old);
    void reply.code(200);
  });

  app.post<Params>('/os-aggregates/:id/action', async (request) => {
    const body = request.body;
    const action = actionName(body);
    switch (action) {
      case 'add_host': {
        policy(request, 'add_host');
        const { host } = validateBody<{ add_host: { host: string } }>(ADD_HOST, body).add_host;
        const id = aggregateId(request.params.id);
        if (!(await computeServiceOf(db, host))) throw new NotFound(`Compute host ${host} could not be found.`);
        const old = await before(id);
        // Before the zone checks, as Nova: a refused add has a start and no end.
        if (old) notify(request, 'add_host.start', old);
        const added = await asConflict(() => addAggregateHost(db, id, host));
        if (old) notify(request, 'add_host.end', added);
        return { aggregate: aggregateView(request, added) };
      }
      case 'remove_host': {
        policy(request, 'remove_host');
        const { host } = validateBody<{ remove_host: { host: string } }>(REMOVE_HOST, body).remove_host;
        const id = aggregateId(request.params.id);
        const notFound = new NotFound(`Cannot remove host ${host} in aggregate ${id}`);
        if (!(await computeServiceOf(db, host))) throw notFound;
        try {
          const old = await before(id);
          if (old) notify(request, 'remove_host.start', old);
          const removed = await asConflict(() => removeAggregateHost(db, id, host));
          if (old) notify(request, 'remove_host.end', removed);
          return { aggregate: aggregateView(request, removed) };
        } catch (err) {
          if (err instanceof NotFound) throw notFound;
          throw err;
        }
      }
      case 'set_metadata': {
        policy(request, 'set_metadata');
        const { metadata } = validateBody<{ set_metadata: { metadata: Record<string, string | null> } }>(
          SET_METADATA,
          body,
        ).set_metadata;
        const id = aggregateId(request.params.id);
        const old = await before(id);
        const updated = await setAggregateMetadata(db, id, metadata);
        // Nova checks the zone before its start: a refused change sends neither.
        if (old) {
          notify(request, 'update_metadata.start', old);
          notify(request, 'update_metadata.end', updated);
        }
        return { aggregate: aggregateView(request, updated) };
      }
      default:
        throw new BadRequest(`There is no such action: ${action}`);
    }
  });
}

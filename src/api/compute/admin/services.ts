/**
 * os-services (admin): the services of the cloud with their heartbeat state, enabling/disabling and
 * forcing down compute services (by host and binary before 2.53, by uuid from 2.53), and deleting one.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../common/config/load-config.ts';
import { BadRequest, Conflict, NotFound, type StratusError } from '../../../common/errors.ts';
import { removeHostFromAllAggregates } from '../../../objects/aggregates.ts';
import { countInstancesOnHost } from '../../../objects/instances.ts';
import {
  deleteService,
  isServiceUp,
  listServices,
  updateService,
  type ServiceRecord,
} from '../../../objects/services.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import { zonesOfServices, type ZonedService } from '../availability-zones/routes.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { BooleanLike } from '../schema-types.ts';
import { naiveTime } from '../timestamps.ts';
import { boolFromString, isUuidLike, queryValue, validateBody, type Query } from '../validate.ts';
import { COMPUTE_BINARY } from '../servers/host-state.ts';
import { deleteComputeNodesOf } from './compute-nodes.ts';

/** The API service itself is not listed, as Nova leaves out nova-osapi_compute (os-hosts too). */
export const HIDDEN_BINARIES = ['stratus-api'];

const Fqdn = Type.String({ pattern: '^[a-zA-Z0-9-._]*$', minLength: 1, maxLength: 255 });
const Reason = Type.String({ minLength: 1, maxLength: 255 });
const Binary = Type.String({ minLength: 1, maxLength: 255 });
const UPDATE_V21 = Type.Object(
  { host: Fqdn, binary: Binary, disabled_reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
const UPDATE_V211 = Type.Object(
  { host: Fqdn, binary: Binary, disabled_reason: Type.Optional(Reason), forced_down: Type.Optional(BooleanLike) },
  { additionalProperties: false },
);
const UPDATE_V253 = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
    disabled_reason: Type.Optional(Reason),
    forced_down: Type.Optional(BooleanLike),
  },
  { additionalProperties: false },
);

interface HostBinaryBody {
  host: string;
  binary: string;
  disabled_reason?: string;
  forced_down?: boolean | string;
}

export function serviceView(
  request: FastifyRequest,
  { service, zone }: ZonedService,
  config: Config,
): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: atLeast(request, '2.53') ? service.uuid : service.id,
    binary: service.binary,
    host: service.host,
    zone,
    status: service.disabled ? 'disabled' : 'enabled',
    state: isServiceUp(service, config.DEFAULT.service_down_time) ? 'up' : 'down',
    updated_at: naiveTime(service.last_seen_up ?? service.updated_at),
    disabled_reason: service.disabled_reason,
  };
  if (atLeast(request, '2.11')) view['forced_down'] = service.forced_down === 1;
  return view;
}

function notComputeError(binary: string): StratusError {
  return new BadRequest(
    `Updating a ${binary} service is not supported. Only ${COMPUTE_BINARY} services can be updated.`,
  );
}

export function registerServiceRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get('/os-services', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-services:list');
    const query = request.query as Query;
    const host = queryValue(query, 'host');
    const binary = queryValue(query, 'binary');
    const services = await listServices(db, { ...(host ? { host } : {}), ...(binary ? { binary } : {}) });
    const shown = services.filter((s) => !HIDDEN_BINARIES.includes(s.binary));
    return {
      services: (await zonesOfServices(db, deps.config, shown)).map((s) => serviceView(request, s, deps.config)),
    };
  });

  app.put<{ Params: { id: string } }>('/os-services/:id', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-services:update');
    if (atLeast(request, '2.53')) return updateByUuid(deps, request);
    return updateByHostAndBinary(deps, request);
  });

  app.delete<{ Params: { id: string } }>('/os-services/:id', async (request, reply) => {
    authorize(request.ctx, 'os_compute_api:os-services:delete');
    const id = request.params.id;
    let service: ServiceRecord | undefined;
    if (atLeast(request, '2.53')) {
      if (!isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
      service = await db.selectFrom('services').selectAll().where('uuid', '=', id).executeTakeFirst();
    } else {
      if (!/^-?\d+$/.test(id)) throw new BadRequest('Invalid input received: id must be an integer');
      service = await db.selectFrom('services').selectAll().where('id', '=', Number(id)).executeTakeFirst();
    }
    if (!service) throw new NotFound(`Service ${id} not found.`);
    if (service.binary === COMPUTE_BINARY) {
      if ((await countInstancesOnHost(db, service.host)) > 0) {
        throw new Conflict(
          'Unable to delete compute service that is hosting instances. Migrate or delete the instances first.',
        );
      }
      await deleteComputeNodesOf(db, service.host);
      await removeHostFromAllAggregates(db, service.host);
    }
    await deleteService(db, service.id);
    deps.notifications.service(request.ctx, 'delete', service);
    void reply.code(204);
  });
}

/** Before 2.53: PUT /os-services/{enable|disable|disable-log-reason|force-down} naming host and binary. */
async function updateByHostAndBinary(deps: ComputeApiDeps, request: FastifyRequest<{ Params: { id: string } }>) {
  const db = deps.database.db;
  const body = validateBody<HostBinaryBody>(atLeast(request, '2.11') ? UPDATE_V211 : UPDATE_V21, request.body);
  const action = request.params.id;
  const { host, binary } = body;
  let changes: Parameters<typeof updateService>[2];
  let result: Record<string, unknown>;
  switch (action) {
    case 'enable':
      changes = { disabled: 0, disabled_reason: null };
      result = { host, binary, status: 'enabled' };
      break;
    case 'disable':
      changes = { disabled: 1, disabled_reason: null };
      result = { host, binary, status: 'disabled' };
      break;
    case 'disable-log-reason':
      if (body.disabled_reason === undefined) throw new BadRequest('Missing disabled reason field');
      changes = { disabled: 1, disabled_reason: body.disabled_reason };
      result = { host, binary, status: 'disabled', disabled_reason: body.disabled_reason };
      break;
    case 'force-down': {
      if (!atLeast(request, '2.11')) throw new NotFound('Unknown action');
      if (body.forced_down === undefined) throw new BadRequest('Missing forced_down field');
      const forcedDown = boolFromString(body.forced_down);
      changes = { forced_down: forcedDown ? 1 : 0 };
      result = { host, binary, forced_down: forcedDown };
      break;
    }
    default:
      throw new NotFound('Unknown action');
  }
  if (binary !== COMPUTE_BINARY) throw notComputeError(binary);
  const service = (await listServices(db, { host, binary }))[0];
  if (!service) throw new NotFound(`Could not find binary ${binary} on host ${host}.`);
  // Nova's Service.save reports every change of disabled, disabled_reason or forced_down.
  deps.notifications.service(request.ctx, 'update', await updateService(db, service.id, changes));
  return { service: result };
}

/** From 2.53: PUT /os-services/{uuid} with the new status and/or forced_down. */
async function updateByUuid(deps: ComputeApiDeps, request: FastifyRequest<{ Params: { id: string } }>) {
  const { database, config } = deps;
  const db = database.db;
  const id = request.params.id;
  if (!isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
  const body = validateBody<{
    status?: 'enabled' | 'disabled';
    disabled_reason?: string;
    forced_down?: boolean | string;
  }>(UPDATE_V253, request.body);
  const service = await db.selectFrom('services').selectAll().where('uuid', '=', id).executeTakeFirst();
  if (!service) throw new NotFound(`Service ${id} could not be found.`);
  if (service.binary !== COMPUTE_BINARY) throw notComputeError(service.binary);
  const changes: Parameters<typeof updateService>[2] = {};
  if (body.status === 'enabled') {
    if (body.disabled_reason) throw new BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    changes.disabled = 0;
    changes.disabled_reason = null;
  } else if (body.status === 'disabled') {
    changes.disabled = 1;
    changes.disabled_reason = body.disabled_reason ?? null;
  }
  if (body.forced_down !== undefined) {
    changes.forced_down = boolFromString(body.forced_down, true, 'forced_down') ? 1 : 0;
  }
  if (Object.keys(changes).length === 0) {
    throw new BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
  }
  const saved = await updateService(db, service.id, changes);
  deps.notifications.service(request.ctx, 'update', saved);
  const [updated] = await zonesOfServices(db, config, [saved]);
  return { service: serviceView(request, updated!, config) };
}

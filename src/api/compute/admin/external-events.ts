/**
 * POST /os-server-external-events (admin): how the network, volume and accelerator services tell the
 * compute service that something about a server changed. Each event gets Nova's `code` and `status`:
 * 200 delivered (its server has a host), 404 unknown server, 400 a tag the event needs is missing, 422
 * a server with no host yet; the answer is 200 when every event was delivered, else 207.
 *
 * What the events mean on the host is not acted on here: Stratus's own network service tells a host of
 * changed ports directly (compute's network_info_changed, network/network-info-changed.ts), and it has no
 * volume or accelerator service. What is kept is what Nova records where users can see it, as instance
 * actions (external-event-actions.ts).
 */
import { Type } from 'typebox';
import { authorize } from '../../policy.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { validateBody } from '../validate.ts';
import { recordExternalEvent, type ExternalEvent } from './external-event-actions.ts';

const STATUSES = ['failed', 'completed', 'in-progress'];
/** Events that name their object in the tag (a volume, a power state, an accelerator request). */
const TAG_REQUIRED = ['volume-extended', 'power-update', 'accelerator-request-bound'];

/** The event names of a microversion: Nova added one at each of these versions. */
function eventNames(at: (version: string) => boolean): string[] {
  const names = ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted'];
  if (at('2.51')) names.push('volume-extended');
  if (at('2.76')) names.push('power-update');
  if (at('2.82')) names.push('accelerator-request-bound');
  if (at('2.93')) names.push('volume-reimaged');
  return names;
}

const schemas = new Map<string, ReturnType<typeof bodySchema>>();

function bodySchema(names: string[]) {
  return Type.Object(
    {
      events: Type.Array(
        Type.Object(
          {
            name: Type.Unsafe<string>({ type: 'string', enum: names }),
            server_uuid: Type.String({ format: 'uuid' }),
            status: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: STATUSES })),
            tag: Type.Optional(Type.String({ maxLength: 255 })),
          },
          { additionalProperties: false },
        ),
        { minItems: 1 },
      ),
    },
    { additionalProperties: false },
  );
}

interface EventBody {
  events: { name: string; server_uuid: string; status?: string; tag?: string }[];
}

export function registerExternalEventRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.post('/os-server-external-events', async (request, reply) => {
    const names = eventNames((v) => atLeast(request, v));
    const key = names.join(',');
    let schema = schemas.get(key);
    if (!schema) {
      schema = bodySchema(names);
      schemas.set(key, schema);
    }
    // As in Nova, the body is checked before the policy.
    const body = validateBody<EventBody>(schema, request.body);
    authorize(request.ctx, 'os_compute_api:os-server-external-events:create');

    const uuids = [...new Set(body.events.map((e) => e.server_uuid))];
    const rows = await db
      .selectFrom('instances')
      .select(['uuid', 'host', 'vm_state', 'task_state', 'power_state'])
      .where('deleted', '=', 0)
      .where('uuid', 'in', uuids)
      .execute();
    const instances = new Map(rows.map((r) => [r.uuid, r]));

    let allDelivered = true;
    const accepted: { event: ExternalEvent; instance: (typeof rows)[number] }[] = [];
    const answered = body.events.map((event) => {
      const instance = instances.get(event.server_uuid);
      let code: number;
      if (!instance) code = 404;
      else if (TAG_REQUIRED.includes(event.name) && event.tag === undefined) code = 400;
      else if (instance.host) code = 200;
      else code = 422;
      if (code === 200) accepted.push({ event: { name: event.name, tag: event.tag ?? null }, instance: instance! });
      else allDelivered = false;
      return { ...event, status: code === 200 ? 'completed' : 'failed', code };
    });
    for (const { event, instance } of accepted) {
      await recordExternalEvent(db, request.ctx, { ...instance, host: instance.host! }, event);
    }
    void reply.code(allDelivered ? 200 : 207);
    return { events: answered };
  });
}

/**
 * /v2.0/floatingips: Neutron's floating IPs (the `router` extension's second resource) with
 * `port_details` (fip-port-details). Associating and disassociating is an update of port_id.
 */
import { canonicalIp } from '../../../network/ip.ts';
import {
  createFloatingIp,
  deleteFloatingIp,
  getFloatingIp,
  listFloatingIps,
  updateFloatingIp,
  type FloatingIpCreate,
  type FloatingIpUpdate,
} from '../../../network/floating-ips.ts';
import { floatingIpNotFound } from '../../../network/l3-errors.ts';
import {
  nullable,
  parseResourceBody,
  stringAttr,
  uuidAttr,
  type AttributeSpecs,
  type Converted,
} from '../attributes.ts';
import { listResponse, showFields } from '../list-query.ts';
import type { NetworkApiModule } from '../module.ts';

function ipAttr(value: unknown): Converted {
  const ip = typeof value === 'string' ? canonicalIp(value) : null;
  return ip === null
    ? { ok: false, reason: `'${typeof value === 'string' ? value : JSON.stringify(value)}' is not a valid IP address` }
    : { ok: true, value: ip };
}

const SPECS: AttributeSpecs = {
  floating_network_id: { allowPost: true, allowPut: false, required: true, convert: uuidAttr },
  floating_ip_address: { allowPost: true, allowPut: false, convert: nullable(ipAttr) },
  subnet_id: { allowPost: true, allowPut: false, convert: nullable(uuidAttr) },
  port_id: { allowPost: true, allowPut: true, convert: nullable(uuidAttr) },
  fixed_ip_address: { allowPost: true, allowPut: true, convert: nullable(ipAttr) },
  description: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr(255) },
};

type IdParams = { Params: { id: string } };

export const floatingIpsModule: NetworkApiModule = {
  resources: [{ name: 'floatingip', collection: 'floatingips' }],
  extensions: [
    {
      alias: 'fip-port-details',
      name: 'Floating IP Port Details Extension',
      description: 'Floating IPs show port_details: the name, network, MAC and device of the port they map to.',
      updated: '2018-04-09T10:00:00-00:00',
    },
  ],
  register(app, { database }) {
    const db = database.db;
    app.get('/v2.0/floatingips', async (request) =>
      listResponse(request, (await listFloatingIps(db, request.ctx)) as never, {
        collection: 'floatingips',
        markerNotFound: floatingIpNotFound,
      }),
    );
    app.get<IdParams>('/v2.0/floatingips/:id', async (request) => ({
      floatingip: showFields(request, (await getFloatingIp(db, request.ctx, request.params.id)) as never),
    }));
    app.post('/v2.0/floatingips', async (request, reply) => {
      const attrs = parseResourceBody('floatingip', request.body, SPECS, 'POST');
      const floatingip = await createFloatingIp(db, request.ctx, {
        ...(attrs as unknown as Omit<FloatingIpCreate, 'project_id'>),
        project_id: (attrs['project_id'] as string | undefined) ?? request.ctx.projectId ?? '',
      });
      return reply.code(201).send({ floatingip });
    });
    app.put<IdParams>('/v2.0/floatingips/:id', async (request) => {
      const attrs = parseResourceBody('floatingip', request.body, SPECS, 'PUT') as FloatingIpUpdate;
      return { floatingip: await updateFloatingIp(db, request.ctx, request.params.id, attrs) };
    });
    app.delete<IdParams>('/v2.0/floatingips/:id', async (request, reply) => {
      await deleteFloatingIp(db, request.ctx, request.params.id);
      return reply.code(204).send();
    });
  },
};

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
import { nullable, stringAttr, uuidAttr, type AttributeSpecs, type Converted } from '../attributes.ts';
import { TAGS_READ_ONLY } from '../tags.ts';
import { HostNotices } from '../host-notices.ts';
import type { NetworkApiModule } from '../module.ts';
import { registerResourceRoutes } from '../resource-routes.ts';

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
  tags: TAGS_READ_ONLY,
};

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
  register(app, deps) {
    const db = deps.database.db;
    const notices = new HostNotices(deps);
    registerResourceRoutes(app, {
      member: 'floatingip',
      collection: 'floatingips',
      path: '/v2.0/floatingips',
      specs: SPECS,
      notFound: floatingIpNotFound,
      tagsFrom: db,
      list: (ctx) => listFloatingIps(db, ctx),
      get: (ctx, id) => getFloatingIp(db, ctx, id),
      create: async (ctx, attrs) => {
        const created = await createFloatingIp(db, ctx, attrs as unknown as FloatingIpCreate);
        await notices.floatingIpMoved(ctx, [created.port_id]);
        return created;
      },
      update: async (ctx, id, attrs) => {
        const before = await getFloatingIp(db, ctx, id);
        const after = await updateFloatingIp(db, ctx, id, attrs as FloatingIpUpdate);
        const moved = before.port_id !== after.port_id || before.fixed_ip_address !== after.fixed_ip_address;
        if (moved) await notices.floatingIpMoved(ctx, [before.port_id, after.port_id]);
        return after;
      },
      remove: async (ctx, id) => {
        const { port_id: portId } = await getFloatingIp(db, ctx, id);
        await deleteFloatingIp(db, ctx, id);
        await notices.floatingIpMoved(ctx, [portId]);
      },
    });
  },
};

/** /v2.0/subnets: Neutron's subnet resource (IPv4 and IPv6, pools, DNS servers, host routes). */
import { invalidAttribute, subnetNotFound } from '../../../network/errors.ts';
import {
  createSubnet,
  deleteSubnet,
  getSubnet,
  IPV6_MODES,
  listSubnets,
  updateSubnet,
  type SubnetUpdate,
} from '../../../network/subnets.ts';
import type { PoolText, RouteText } from '../../../network/subnet-layout.ts';
import type { ApiServer } from '../../http/create-server.ts';
import {
  booleanAttr,
  enumAttr,
  intAttr,
  listAttr,
  nullable,
  parseResourceBody,
  stringAttr,
  uuidAttr,
  type AttributeSpecs,
  type Converted,
} from '../attributes.ts';
import type { NetworkApiDeps } from '../deps.ts';
import { showFields } from '../list-query.ts';
import { TAGS_READ_ONLY, taggedListResponse, withTagsOne } from '../tags.ts';
import type { NetworkApiModule } from '../module.ts';
import { projectOfNew } from '../policy.ts';

function ipVersion(value: unknown): Converted {
  const n = intAttr(0, 255)(value);
  if (!n.ok) return n;
  return n.value === 4 || n.value === 6 ? n : { ok: false, reason: `'${String(value)}' is not in [4, 6]` };
}

/** A list of objects with exactly the given string keys (allocation pools, host routes). */
function objectList(attr: string, keys: readonly string[], what: string): (value: unknown) => Converted {
  return (value) => {
    const list = listAttr(value);
    if (!list.ok) return list;
    for (const item of list.value as unknown[]) {
      const ok =
        typeof item === 'object' &&
        item !== null &&
        !Array.isArray(item) &&
        Object.keys(item).length === keys.length &&
        keys.every((k) => typeof (item as Record<string, unknown>)[k] === 'string');
      if (!ok) throw invalidAttribute(attr, `Invalid data format for ${what}: '${JSON.stringify(item)}'`);
    }
    return list;
  };
}

function stringList(value: unknown): Converted {
  const list = listAttr(value);
  if (!list.ok) return list;
  const bad = (list.value as unknown[]).find((v) => typeof v !== 'string');
  return bad === undefined ? list : { ok: false, reason: `'${JSON.stringify(bad)}' is not a valid string` };
}

const SPECS: AttributeSpecs = {
  name: { allowPost: true, allowPut: true, convert: stringAttr() },
  description: { allowPost: true, allowPut: true, convert: stringAttr() },
  network_id: { allowPost: true, allowPut: false, required: true, convert: uuidAttr },
  ip_version: { allowPost: true, allowPut: false, required: true, convert: ipVersion },
  cidr: { allowPost: true, allowPut: false, required: true, convert: stringAttr(64) },
  gateway_ip: { allowPost: true, allowPut: true, convert: nullable(stringAttr(64)) },
  allocation_pools: {
    allowPost: true,
    allowPut: true,
    convert: objectList('allocation_pools', ['start', 'end'], 'IP pool'),
  },
  dns_nameservers: { allowPost: true, allowPut: true, convert: stringList },
  host_routes: {
    allowPost: true,
    allowPut: true,
    convert: objectList('host_routes', ['destination', 'nexthop'], 'hostroute'),
  },
  enable_dhcp: { allowPost: true, allowPut: true, convert: booleanAttr },
  ipv6_ra_mode: { allowPost: true, allowPut: false, convert: nullable(enumAttr(IPV6_MODES)) },
  ipv6_address_mode: { allowPost: true, allowPut: false, convert: nullable(enumAttr(IPV6_MODES)) },
  // Stratus has no subnet pools: a client may say so explicitly, nothing more.
  subnetpool_id: {
    allowPost: true,
    allowPut: false,
    convert: (v) => (v === null ? { ok: true, value: null } : { ok: false, reason: 'subnet pools are not supported' }),
  },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr() },
  tags: TAGS_READ_ONLY,
};

function register(app: ApiServer, { database }: NetworkApiDeps): void {
  const db = database.db;

  app.post('/v2.0/subnets', async (request, reply) => {
    const a = parseResourceBody('subnet', request.body, SPECS, 'POST');
    const record = await createSubnet(db, request.ctx, {
      project_id: projectOfNew(request.ctx, a),
      network_id: a['network_id'] as string,
      ip_version: a['ip_version'] as 4 | 6,
      cidr: a['cidr'] as string,
      ...(a['name'] !== undefined ? { name: a['name'] as string } : {}),
      ...(a['description'] !== undefined ? { description: a['description'] as string } : {}),
      ...('gateway_ip' in a ? { gateway_ip: a['gateway_ip'] as string | null } : {}),
      ...(a['allocation_pools'] !== undefined ? { allocation_pools: a['allocation_pools'] as PoolText[] } : {}),
      ...(a['dns_nameservers'] !== undefined ? { dns_nameservers: a['dns_nameservers'] as string[] } : {}),
      ...(a['host_routes'] !== undefined ? { host_routes: a['host_routes'] as RouteText[] } : {}),
      ...(a['enable_dhcp'] !== undefined ? { enable_dhcp: a['enable_dhcp'] as boolean } : {}),
      ...(a['ipv6_ra_mode'] !== undefined ? { ipv6_ra_mode: a['ipv6_ra_mode'] as string | null } : {}),
      ...(a['ipv6_address_mode'] !== undefined ? { ipv6_address_mode: a['ipv6_address_mode'] as string | null } : {}),
    });
    return reply.code(201).send({ subnet: await withTagsOne(db, record) });
  });

  app.get('/v2.0/subnets', async (request) =>
    taggedListResponse(request, db, await listSubnets(db, request.ctx), {
      collection: 'subnets',
      markerNotFound: subnetNotFound,
    }),
  );

  app.get<{ Params: { id: string } }>('/v2.0/subnets/:id', async (request) => ({
    subnet: showFields(
      request,
      (await withTagsOne(db, await getSubnet(db, request.ctx, request.params.id))) as unknown as Record<
        string,
        unknown
      >,
    ),
  }));

  app.put<{ Params: { id: string } }>('/v2.0/subnets/:id', async (request) => {
    const a = parseResourceBody('subnet', request.body, SPECS, 'PUT');
    const changes: SubnetUpdate = {
      ...(a['name'] !== undefined ? { name: a['name'] as string } : {}),
      ...(a['description'] !== undefined ? { description: a['description'] as string } : {}),
      ...('gateway_ip' in a ? { gateway_ip: a['gateway_ip'] as string | null } : {}),
      ...(a['allocation_pools'] !== undefined ? { allocation_pools: a['allocation_pools'] as PoolText[] } : {}),
      ...(a['dns_nameservers'] !== undefined ? { dns_nameservers: a['dns_nameservers'] as string[] } : {}),
      ...(a['host_routes'] !== undefined ? { host_routes: a['host_routes'] as RouteText[] } : {}),
      ...(a['enable_dhcp'] !== undefined ? { enable_dhcp: a['enable_dhcp'] as boolean } : {}),
    };
    return { subnet: await withTagsOne(db, await updateSubnet(db, request.ctx, request.params.id, changes)) };
  });

  app.delete<{ Params: { id: string } }>('/v2.0/subnets/:id', async (request, reply) => {
    await deleteSubnet(db, request.ctx, request.params.id);
    return reply.code(204).send();
  });
}

export const subnetsModule: NetworkApiModule = {
  resources: [{ name: 'subnet', collection: 'subnets' }],
  extensions: [],
  register,
};

/**
 * /v2.0/networks: Neutron's network resource with the external-net, provider, mtu and port-security
 * extensions. Provider attributes, `shared` and `router:external` are admin-only to set (and provider
 * ones to read), as in Neutron's default policy.
 */
import type { ApiServer } from '../../http/create-server.ts';
import { networkNotFound } from '../../../network/errors.ts';
import {
  createNetwork,
  deleteNetwork,
  DEFAULT_MTU,
  getNetwork,
  listNetworks,
  updateNetwork,
  type NetworkRecord,
} from '../../../network/networks.ts';
import { invalidInput } from '../../../network/errors.ts';
import { booleanAttr, intAttr, nullable, parseResourceBody, stringAttr, type AttributeSpecs } from '../attributes.ts';
import type { NetworkApiDeps } from '../deps.ts';
import { showFields } from '../list-query.ts';
import { TAGS_READ_ONLY, taggedListResponse, withTagsOne } from '../tags.ts';
import type { NetworkApiModule } from '../module.ts';
import { adminOnlyAttributes, projectOfNew, withoutAdminOnly } from '../policy.ts';
import type { RequestContext } from '../../../common/context.ts';

const PROVIDER = ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'] as const;

const SPECS: AttributeSpecs = {
  name: { allowPost: true, allowPut: true, convert: stringAttr() },
  description: { allowPost: true, allowPut: true, convert: stringAttr() },
  admin_state_up: { allowPost: true, allowPut: true, convert: booleanAttr },
  shared: { allowPost: true, allowPut: true, convert: booleanAttr },
  'router:external': { allowPost: true, allowPut: true, convert: booleanAttr },
  mtu: { allowPost: true, allowPut: true, convert: intAttr(68, 65535) },
  port_security_enabled: { allowPost: true, allowPut: true, convert: booleanAttr },
  'provider:network_type': { allowPost: true, allowPut: true, convert: stringAttr() },
  'provider:physical_network': { allowPost: true, allowPut: true, convert: nullable(stringAttr(64)) },
  'provider:segmentation_id': { allowPost: true, allowPut: true, convert: nullable(intAttr(0, 2 ** 31 - 1)) },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr() },
  tags: TAGS_READ_ONLY,
};

function view(ctx: RequestContext, record: NetworkRecord): Record<string, unknown> {
  return withoutAdminOnly(ctx, 'get_network', record, PROVIDER) as unknown as Record<string, unknown>;
}

function checkMtu(mtu: unknown): void {
  if (typeof mtu === 'number' && mtu > DEFAULT_MTU)
    throw invalidInput(`Requested MTU is too big, maximum is ${DEFAULT_MTU}`);
}

function register(app: ApiServer, { database }: NetworkApiDeps): void {
  const db = database.db;

  app.post('/v2.0/networks', async (request, reply) => {
    const attrs = parseResourceBody('network', request.body, SPECS, 'POST');
    adminOnlyAttributes(request.ctx, 'create_network', attrs, ['shared', 'router:external', ...PROVIDER]);
    checkMtu(attrs['mtu']);
    const record = await createNetwork(db, {
      project_id: projectOfNew(request.ctx, attrs),
      ...(attrs['name'] !== undefined ? { name: attrs['name'] as string } : {}),
      ...(attrs['description'] !== undefined ? { description: attrs['description'] as string } : {}),
      ...(attrs['admin_state_up'] !== undefined ? { admin_state_up: attrs['admin_state_up'] as boolean } : {}),
      ...(attrs['shared'] !== undefined ? { shared: attrs['shared'] as boolean } : {}),
      ...(attrs['router:external'] !== undefined ? { router_external: attrs['router:external'] as boolean } : {}),
      ...(attrs['mtu'] !== undefined ? { mtu: attrs['mtu'] as number } : {}),
      ...(attrs['port_security_enabled'] !== undefined
        ? { port_security_enabled: attrs['port_security_enabled'] as boolean }
        : {}),
      provider: {
        network_type: attrs['provider:network_type'] as string | undefined,
        physical_network: attrs['provider:physical_network'] as string | null | undefined,
        segmentation_id: attrs['provider:segmentation_id'] as number | null | undefined,
      },
    });
    return reply.code(201).send({ network: await withTagsOne(db, view(request.ctx, record)) });
  });

  app.get('/v2.0/networks', async (request) =>
    taggedListResponse(
      request,
      db,
      (await listNetworks(db, request.ctx)).map((n) => view(request.ctx, n)),
      { collection: 'networks', markerNotFound: networkNotFound },
    ),
  );

  app.get<{ Params: { id: string } }>('/v2.0/networks/:id', async (request) => ({
    network: showFields(
      request,
      await withTagsOne(db, view(request.ctx, await getNetwork(db, request.ctx, request.params.id))),
    ),
  }));

  app.put<{ Params: { id: string } }>('/v2.0/networks/:id', async (request) => {
    const attrs = parseResourceBody('network', request.body, SPECS, 'PUT');
    adminOnlyAttributes(request.ctx, 'update_network', attrs, ['shared', 'router:external', ...PROVIDER]);
    // ML2 cannot move a network with ports to another segment; Stratus refuses any segment change.
    const provider = PROVIDER.filter((p) => p in attrs);
    if (provider.length > 0) {
      const current = await getNetwork(db, request.ctx, request.params.id);
      if (provider.some((p) => attrs[p] !== current[p])) {
        throw invalidInput(
          'Plugin does not support updating the following provider network attributes: ' + provider.join(', '),
        );
      }
    }
    checkMtu(attrs['mtu']);
    const record = await updateNetwork(db, request.ctx, request.params.id, {
      ...(attrs['name'] !== undefined ? { name: attrs['name'] as string } : {}),
      ...(attrs['description'] !== undefined ? { description: attrs['description'] as string } : {}),
      ...(attrs['admin_state_up'] !== undefined ? { admin_state_up: attrs['admin_state_up'] as boolean } : {}),
      ...(attrs['shared'] !== undefined ? { shared: attrs['shared'] as boolean } : {}),
      ...(attrs['router:external'] !== undefined ? { router_external: attrs['router:external'] as boolean } : {}),
      ...(attrs['mtu'] !== undefined ? { mtu: attrs['mtu'] as number } : {}),
      ...(attrs['port_security_enabled'] !== undefined
        ? { port_security_enabled: attrs['port_security_enabled'] as boolean }
        : {}),
    });
    return { network: await withTagsOne(db, view(request.ctx, record)) };
  });

  app.delete<{ Params: { id: string } }>('/v2.0/networks/:id', async (request, reply) => {
    await deleteNetwork(db, request.ctx, request.params.id);
    return reply.code(204).send();
  });
}

export const networksModule: NetworkApiModule = {
  resources: [{ name: 'network', collection: 'networks' }],
  extensions: [
    {
      alias: 'external-net',
      name: 'Neutron external network',
      description: 'Networks marked router:external, where floating IPs and router gateways come from.',
      updated: '2013-01-14T10:00:00-00:00',
    },
    {
      alias: 'provider',
      name: 'Provider Network',
      description: 'Admins place networks on a physical network, flat or on a VLAN.',
      updated: '2012-09-07T10:00:00-00:00',
    },
    {
      alias: 'net-mtu',
      name: 'Network MTU',
      description: 'Networks show their MTU.',
      updated: '2015-03-25T10:00:00-00:00',
    },
    {
      alias: 'net-mtu-writable',
      name: 'Network MTU (writable)',
      description: 'Networks take an MTU on create and update.',
      updated: '2017-07-12T00:00:00-00:00',
    },
    {
      alias: 'port-security',
      name: 'Port Security',
      description: 'Networks and ports turn anti-spoofing and security groups on or off.',
      updated: '2012-07-23T10:00:00-00:00',
    },
  ],
  register,
};

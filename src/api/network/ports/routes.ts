/**
 * /v2.0/ports: Neutron's port resource with fixed IPs, MAC, security groups, port security, allowed
 * address pairs and the binding extension (host, vif and vnic types; host, profile and vif details
 * are the admin's to see and set, as in Neutron's default policy).
 */
import type { RequestContext } from '../../../common/context.ts';
import { invalidAttribute, portNotFound } from '../../../network/errors.ts';
import { VNIC_TYPES } from '../../../network/port-binding.ts';
import {
  createPort,
  deletePort,
  getPort,
  listPorts,
  updatePort,
  type PortCreate,
  type PortRecord,
  type PortUpdate,
} from '../../../network/ports.ts';
import type { FixedIpRequest } from '../../../network/ipam.ts';
import type { ApiServer } from '../../http/create-server.ts';
import {
  booleanAttr,
  dictAttr,
  enumAttr,
  listAttr,
  parseResourceBody,
  stringAttr,
  uuidAttr,
  type AttributeSpecs,
  type Converted,
} from '../attributes.ts';
import type { NetworkApiDeps } from '../deps.ts';
import { HostNotices, touchesEnforcedAttributes } from '../host-notices.ts';
import { showFields, valuesOf } from '../list-query.ts';
import { TAGS_ON_CREATE, taggedListResponse, withTagsOne } from '../tags.ts';
import type { NetworkApiModule } from '../module.ts';
import { adminOnlyAttributes, projectOfNew, withoutAdminOnly } from '../policy.ts';

const ADMIN_READ = ['binding:host_id', 'binding:vif_type', 'binding:vif_details', 'binding:profile'] as const;

function fixedIps(value: unknown): Converted {
  const list = listAttr(value);
  if (!list.ok) return list;
  for (const item of list.value as unknown[]) {
    const entry = item as Record<string, unknown>;
    const ok =
      typeof item === 'object' &&
      item !== null &&
      !Array.isArray(item) &&
      Object.keys(entry).every((k) => (k === 'subnet_id' || k === 'ip_address') && typeof entry[k] === 'string');
    if (!ok) throw invalidAttribute('fixed_ips', `Invalid data format for fixed IP: '${JSON.stringify(item)}'`);
  }
  return list;
}

function uuidList(value: unknown): Converted {
  const list = listAttr(value);
  if (!list.ok) return list;
  for (const v of list.value as unknown[]) {
    const one = uuidAttr(v);
    if (!one.ok) return one;
  }
  return list;
}

function addressPairs(value: unknown): Converted {
  const list = listAttr(value);
  if (!list.ok) return list;
  for (const item of list.value as unknown[]) {
    const pair = item as Record<string, unknown>;
    const ok =
      typeof item === 'object' &&
      item !== null &&
      typeof pair['ip_address'] === 'string' &&
      Object.keys(pair).every((k) => k === 'ip_address' || (k === 'mac_address' && typeof pair[k] === 'string'));
    if (!ok) return { ok: false, reason: `'${JSON.stringify(item)}' is not a valid address pair` };
  }
  return list;
}

const SPECS: AttributeSpecs = {
  name: { allowPost: true, allowPut: true, convert: stringAttr() },
  description: { allowPost: true, allowPut: true, convert: stringAttr() },
  network_id: { allowPost: true, allowPut: false, required: true, convert: uuidAttr },
  admin_state_up: { allowPost: true, allowPut: true, convert: booleanAttr },
  mac_address: { allowPost: true, allowPut: true, convert: stringAttr(32) },
  fixed_ips: { allowPost: true, allowPut: true, convert: fixedIps },
  device_id: { allowPost: true, allowPut: true, convert: stringAttr() },
  device_owner: { allowPost: true, allowPut: true, convert: stringAttr() },
  security_groups: { allowPost: true, allowPut: true, convert: uuidList },
  port_security_enabled: { allowPost: true, allowPut: true, convert: booleanAttr },
  allowed_address_pairs: { allowPost: true, allowPut: true, convert: addressPairs },
  'binding:host_id': { allowPost: true, allowPut: true, convert: stringAttr() },
  'binding:vnic_type': { allowPost: true, allowPut: true, convert: enumAttr(VNIC_TYPES) },
  'binding:profile': { allowPost: true, allowPut: true, convert: dictAttr },
  'binding:vif_type': { allowPost: false, allowPut: false },
  'binding:vif_details': { allowPost: false, allowPut: false },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr() },
  tags: TAGS_ON_CREATE,
};

/** The attributes a create and an update share, in the library's names. */
function common(a: Record<string, unknown>): PortUpdate {
  const pick = <K extends keyof PortUpdate>(key: K, attr: string = key) =>
    a[attr] !== undefined ? { [key]: a[attr] as PortUpdate[K] } : {};
  return {
    ...pick('name'),
    ...pick('description'),
    ...pick('admin_state_up'),
    ...pick('mac_address'),
    ...pick('fixed_ips'),
    ...pick('device_id'),
    ...pick('device_owner'),
    ...pick('security_groups'),
    ...pick('port_security_enabled'),
    ...pick('allowed_address_pairs'),
    ...pick('binding_host_id', 'binding:host_id'),
    ...pick('binding_vnic_type', 'binding:vnic_type'),
    ...pick('binding_profile', 'binding:profile'),
  };
}

function view(ctx: RequestContext, record: PortRecord): Record<string, unknown> {
  return withoutAdminOnly(ctx, 'get_port', record, ADMIN_READ) as unknown as Record<string, unknown>;
}

/** `fixed_ips=ip_address=10.0.0.5`, `fixed_ips=subnet_id=...`: every condition met by some address. */
function fixedIpsFilter(port: Record<string, unknown>, values: string[]): boolean {
  const ips = port['fixed_ips'] as FixedIpRequest[];
  return values.every((condition) => {
    const [key, ...rest] = condition.split('=');
    const wanted = rest.join('=');
    if (key === 'ip_address_substr') return ips.some((ip) => ip.ip_address?.includes(wanted));
    if (key !== 'ip_address' && key !== 'subnet_id') return false;
    return ips.some((ip) => ip[key] === wanted);
  });
}

function register(app: ApiServer, deps: NetworkApiDeps): void {
  const db = deps.database.db;
  const notices = new HostNotices(deps);

  app.post('/v2.0/ports', async (request, reply) => {
    const a = parseResourceBody('port', request.body, SPECS, 'POST');
    adminOnlyAttributes(request.ctx, 'create_port', a, ['binding:host_id', 'binding:profile']);
    const create: PortCreate = {
      ...common(a),
      project_id: projectOfNew(request.ctx, a),
      network_id: a['network_id'] as string,
      ...(a['tags'] !== undefined ? { tags: a['tags'] as string[] } : {}),
    };
    const record = await createPort(db, request.ctx, create);
    if (record.security_groups.length > 0) await notices.portCreated(request.ctx, record.id);
    return reply.code(201).send({ port: await withTagsOne(db, view(request.ctx, record)) });
  });

  app.get('/v2.0/ports', async (request) => {
    const query = request.query as Record<string, string | string[] | undefined>;
    // One network's or one device's ports (the usual questions) narrow the query in the database.
    const [networkId, ...moreNetworks] = valuesOf(query, 'network_id');
    const [deviceId, ...moreDevices] = valuesOf(query, 'device_id');
    const ports = await listPorts(db, request.ctx, {
      ...(networkId !== undefined && moreNetworks.length === 0 ? { networkId } : {}),
      ...(deviceId !== undefined && moreDevices.length === 0 ? { deviceId } : {}),
    });
    return taggedListResponse(
      request,
      db,
      ports.map((p) => view(request.ctx, p)),
      { collection: 'ports', markerNotFound: portNotFound, extraFilters: { fixed_ips: fixedIpsFilter } },
    );
  });

  app.get<{ Params: { id: string } }>('/v2.0/ports/:id', async (request) => ({
    port: showFields(
      request,
      await withTagsOne(db, view(request.ctx, await getPort(db, request.ctx, request.params.id))),
    ),
  }));

  app.put<{ Params: { id: string } }>('/v2.0/ports/:id', async (request) => {
    const a = parseResourceBody('port', request.body, SPECS, 'PUT');
    adminOnlyAttributes(request.ctx, 'update_port', a, ['binding:host_id', 'binding:profile', 'mac_address']);
    const enforced = touchesEnforcedAttributes(a);
    const formerGroups = enforced ? await notices.groupsBefore(request.params.id) : [];
    const record = await updatePort(db, request.ctx, request.params.id, common(a));
    if (enforced) await notices.portChanged(request.ctx, record.id, formerGroups);
    return { port: await withTagsOne(db, view(request.ctx, record)) };
  });

  app.delete<{ Params: { id: string } }>('/v2.0/ports/:id', async (request, reply) => {
    const tellHosts = await notices.beforePortDelete(request.ctx, request.params.id);
    await deletePort(db, request.ctx, request.params.id, { viaApi: true });
    await tellHosts();
    return reply.code(204).send();
  });
}

export const portsModule: NetworkApiModule = {
  resources: [{ name: 'port', collection: 'ports' }],
  extensions: [
    {
      alias: 'binding',
      name: 'Port Binding',
      description: 'Ports carry the host they are bound to and how the host plugs them in.',
      updated: '2014-02-03T10:00:00-00:00',
    },
    {
      alias: 'allowed-address-pairs',
      name: 'Allowed Address Pairs',
      description: 'Ports may send from further addresses than their own.',
      updated: '2013-07-23T10:00:00-00:00',
    },
  ],
  register,
};

/**
 * The server as the API shows it, field for field as Nova's view builder at each microversion: which
 * fields exist depends on the version asked for, and some (OS-EXT-SRV-ATTR:*, host_status, fault
 * details of internal errors) only on who asks. Addresses come from the instance's ports
 * (objects/instance-addresses.ts); Stratus has no volumes yet, so attached volumes are empty.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../common/config/load-config.ts';
import type { Db } from '../../../common/db/database.ts';
import { latestFaults, type InstanceFault } from '../../../objects/instance-faults.ts';
import { addressesOfInstances, type InstanceAddress } from '../../../objects/instance-addresses.ts';
import { apiStatus } from '../../../wire/messages/instance-states.ts';
import { tagsOfInstances } from '../../../objects/instance-tags.ts';
import type { ServiceRecord } from '../../../objects/services.ts';
import type { Instance } from '../../../objects/instances.ts';
import { bookmarkHref, resourceLinks } from '../links.ts';
import { atLeast } from '../microversion.ts';
import { isoTime, naiveTime } from '../timestamps.ts';
import { diskConfigView } from './disk-config.ts';
import { computeServicesByHost, hostStatus } from './host-state.ts';
import { instanceName } from './names.ts';
import { wantsExtension } from '../extensions.ts';
import { STORAGE_TIER_ATTRIBUTE, STORAGE_TIER_EXTENSION } from './storage-tier.ts';
import { permits } from '../../policy.ts';

/** What the views of a set of servers need beyond the rows. */
export interface ServerViewData {
  faults: Map<string, InstanceFault>;
  /** instance uuid -> its addresses (objects/instance-addresses.ts). */
  addresses: Map<string, InstanceAddress[]>;
  /** host -> its compute service, for the host_status admins see from 2.16. */
  computeServices: Map<string, ServiceRecord>;
  /** instance uuid -> the availability zone its request spec pins it to (2.96). */
  pinnedAz: Map<string, string | null>;
  /** instance uuid -> its tags (2.26; empty below). */
  tags: Map<string, string[]>;
  /** instance uuid -> the uuid of its server group, for the views that show server_groups (2.71). */
  serverGroups: Map<string, string>;
}

export interface ServerViewOptions {
  /** The fields Nova's update response leaves out before 2.75 (AZ, key, usage, extended status...). */
  extended: boolean;
  /** Whether host_status may be shown (Nova leaves it out of the update response before 2.75). */
  hostStatus: boolean;
  /** Whether server_groups is shown from 2.71: show and update have it, Nova's detailed list never. */
  serverGroups?: boolean;
}

/**
 * What the request's microversion and role decide about every server it is shown: computed once per
 * request, since a list of 1000 servers would otherwise compare versions a dozen times per server.
 */
interface ViewFlags {
  isAdmin: boolean;
  /** The os-extended-server-attributes and servers:show:host_status rules allow the caller. */
  extendedAttributes: boolean;
  hostStatus: boolean;
  v2_3: boolean;
  v2_9: boolean;
  v2_16: boolean;
  v2_19: boolean;
  v2_26: boolean;
  v2_47: boolean;
  v2_63: boolean;
  v2_71: boolean;
  v2_73: boolean;
  v2_90: boolean;
  v2_96: boolean;
  /** The client asked for the storage-tier extension (never a stock client). */
  storageTier: boolean;
}

/** `compute` worked out once per request, however many servers the request shows. */
function oncePerRequest<T, A extends unknown[]>(
  compute: (request: FastifyRequest, ...args: A) => T,
): (request: FastifyRequest, ...args: A) => T {
  const values = new WeakMap<FastifyRequest, T>();
  return (request, ...args) => {
    if (!values.has(request)) values.set(request, compute(request, ...args));
    return values.get(request)!;
  };
}

const viewFlags = oncePerRequest((request): ViewFlags => ({
  isAdmin: request.ctx.isAdmin,
  extendedAttributes: permits(request.ctx, 'os_compute_api:os-extended-server-attributes'),
  hostStatus: permits(request.ctx, 'os_compute_api:servers:show:host_status'),
  v2_3: atLeast(request, '2.3'),
  v2_9: atLeast(request, '2.9'),
  v2_16: atLeast(request, '2.16'),
  v2_19: atLeast(request, '2.19'),
  v2_26: atLeast(request, '2.26'),
  v2_47: atLeast(request, '2.47'),
  v2_63: atLeast(request, '2.63'),
  v2_71: atLeast(request, '2.71'),
  v2_73: atLeast(request, '2.73'),
  v2_90: atLeast(request, '2.90'),
  v2_96: atLeast(request, '2.96'),
  storageTier: wantsExtension(request, STORAGE_TIER_EXTENSION),
}));

/**
 * The compute services by host, read once however many slices of a list ask (kept as a promise, so
 * slices read side by side share the one read).
 */
const computeServicesOf = oncePerRequest((_request, db: Db) => computeServicesByHost(db));

const FAULT_STATUSES = ['ERROR', 'DELETED'];
const PROGRESS_STATUSES = ['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING'];

/**
 * What the views of these servers need beyond their rows. It takes uuids, not instances, so that a list
 * reads it beside the rows rather than after them; the compute services are read once per request.
 */
export async function loadServerViewData(
  db: Db,
  request: FastifyRequest,
  uuids: readonly string[],
  include: { serverGroups?: boolean } = {},
): Promise<ServerViewData> {
  const flags = viewFlags(request);
  const [faults, addresses, computeServices, pinnedAz, tags, serverGroups] = await Promise.all([
    latestFaults(db, uuids),
    addressesOfInstances(db, uuids),
    flags.hostStatus && flags.v2_16 ? computeServicesOf(request, db) : new Map<string, ServiceRecord>(),
    flags.v2_96 ? pinnedZones(db, uuids) : new Map<string, string | null>(),
    flags.v2_26 ? tagsOfInstances(db, uuids) : new Map<string, string[]>(),
    include.serverGroups && flags.v2_71 ? groupsOf(db, uuids) : new Map<string, string>(),
  ]);
  return { faults, addresses, computeServices, pinnedAz, tags, serverGroups };
}

/** instance uuid -> its server group's uuid (an instance is in one group at most). */
async function groupsOf(db: Db, uuids: readonly string[]): Promise<Map<string, string>> {
  if (!uuids.length) return new Map();
  const rows = await db
    .selectFrom('instance_group_members as m')
    .innerJoin('instance_groups as g', 'g.id', 'm.group_id')
    .select(['m.instance_uuid as instance_uuid', 'g.uuid as group_uuid'])
    .where('m.instance_uuid', 'in', [...uuids])
    .execute();
  return new Map(rows.map((row) => [row.instance_uuid, row.group_uuid]));
}

async function pinnedZones(db: Db, uuids: readonly string[]): Promise<Map<string, string | null>> {
  const result = new Map<string, string | null>();
  if (!uuids.length) return result;
  const rows = await db
    .selectFrom('request_specs')
    .select(['instance_uuid', 'spec'])
    .where('instance_uuid', 'in', [...uuids])
    .execute();
  for (const row of rows) {
    const spec = JSON.parse(row.spec) as { availability_zone?: string | null };
    result.set(row.instance_uuid, spec.availability_zone ?? null);
  }
  return result;
}

/** hostIds already computed: a list shows the same few project and host pairs over and over. */
const hostIds = new Map<string, string>();
const MAX_REMEMBERED_HOST_IDS = 10_000;

export function hostId(projectId: string, host: string | null): string {
  if (!host) return '';
  const key = projectId + host;
  let id = hostIds.get(key);
  if (id === undefined) {
    id = createHash('sha224').update(key).digest('hex');
    if (hostIds.size >= MAX_REMEMBERED_HOST_IDS) hostIds.clear();
    hostIds.set(key, id);
  }
  return id;
}

function availabilityZone(instance: Instance, config: Config): string {
  // Without host aggregates every compute host is in the default zone; before scheduling the server is
  // in the zone it asked for, if any.
  if (!instance.host) return instance.availability_zone ?? '';
  return instance.availability_zone ?? config.DEFAULT.default_availability_zone;
}

function flavorView(request: FastifyRequest, flags: ViewFlags, instance: Instance): Record<string, unknown> {
  const f = instance.flavor;
  if (!flags.v2_47) {
    return { id: f.flavorid, links: [{ rel: 'bookmark', href: bookmarkHref(request, 'flavors', f.flavorid) }] };
  }
  // Nova's default policy shows the extra specs to every reader of the server.
  return {
    vcpus: f.vcpus,
    ram: f.memory_mb,
    disk: f.root_gb,
    ephemeral: f.ephemeral_gb,
    swap: f.swap,
    original_name: f.name,
    extra_specs: f.extra_specs,
  };
}

function faultView(fault: InstanceFault, isAdmin: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    code: fault.code,
    created: isoTime(fault.created_at),
    message: fault.message,
  };
  // The details of an internal error are a stack trace: only admins see those.
  if (fault.details && (isAdmin || fault.code !== 500)) view['details'] = fault.details;
  return view;
}

/** The addresses by network; the type and MAC only where Nova shows them (not before 2.75 in update). */
export function addressesView(
  addresses: readonly InstanceAddress[],
  extended: boolean,
): Record<string, Record<string, unknown>[]> {
  const view: Record<string, Record<string, unknown>[]> = {};
  for (const address of addresses) {
    const entry: Record<string, unknown> = { version: address.version, addr: address.addr };
    if (extended) {
      entry['OS-EXT-IPS:type'] = address.type;
      entry['OS-EXT-IPS-MAC:mac_addr'] = address.mac;
    }
    (view[address.network] ??= []).push(entry);
  }
  return view;
}

/** GET /servers: id, name and links. */
export function serverBasicView(
  request: FastifyRequest,
  instance: Pick<Instance, 'uuid' | 'display_name'>,
): Record<string, unknown> {
  return { id: instance.uuid, name: instance.display_name, links: resourceLinks(request, 'servers', instance.uuid) };
}

/** GET /servers/{id}, /servers/detail and PUT /servers/{id}. */
export function serverView(
  request: FastifyRequest,
  instance: Instance,
  data: ServerViewData,
  config: Config,
  options: ServerViewOptions = { extended: true, hostStatus: true },
): Record<string, unknown> {
  const flags = viewFlags(request);
  const isAdmin = flags.isAdmin;
  const status = instance.deleted ? 'DELETED' : apiStatus(instance.vm_state, instance.task_state);
  const server: Record<string, unknown> = {
    id: instance.uuid,
    name: instance.display_name,
    status,
    tenant_id: instance.project_id,
    user_id: instance.user_id,
    metadata: instance.metadata,
    hostId: hostId(instance.project_id, instance.host),
    image: instance.image_ref
      ? {
          id: instance.image_ref,
          links: [{ rel: 'bookmark', href: bookmarkHref(request, 'images', instance.image_ref) }],
        }
      : '',
    flavor: flavorView(request, flags, instance),
    created: isoTime(instance.created_at),
    updated: isoTime(instance.updated_at ?? instance.created_at),
    addresses: addressesView(data.addresses.get(instance.uuid) ?? [], options.extended),
    accessIPv4: instance.access_ip_v4 ?? '',
    accessIPv6: instance.access_ip_v6 ?? '',
    links: resourceLinks(request, 'servers', instance.uuid),
    'OS-DCF:diskConfig': diskConfigView(instance.auto_disk_config),
  };
  const fault = data.faults.get(instance.uuid);
  if (FAULT_STATUSES.includes(status) && fault) server['fault'] = faultView(fault, isAdmin);
  if (PROGRESS_STATUSES.includes(status)) server['progress'] = instance.progress ?? 0;

  if (options.extended) {
    server['OS-EXT-AZ:availability_zone'] = availabilityZone(instance, config);
    server['config_drive'] = instance.config_drive;
    server['key_name'] = instance.key_name;
    server['OS-SRV-USG:launched_at'] = naiveTime(instance.launched_at);
    server['OS-SRV-USG:terminated_at'] = naiveTime(instance.terminated_at);
    server['OS-EXT-STS:task_state'] = instance.task_state;
    server['OS-EXT-STS:vm_state'] = instance.vm_state;
    server['OS-EXT-STS:power_state'] = instance.power_state;
    server['os-extended-volumes:volumes_attached'] = [];
    // Stratus's own key, only for a client that asked for it: Nova's bodies carry Nova's keys only.
    if (flags.storageTier) server[STORAGE_TIER_ATTRIBUTE] = instance.storage_tier;
  }
  // Nova's default policy shows the extended server attributes to admins only.
  const extendedAttributes = options.extended && flags.extendedAttributes;
  if (extendedAttributes) {
    server['OS-EXT-SRV-ATTR:host'] = instance.host;
    server['OS-EXT-SRV-ATTR:instance_name'] = instanceName(
      config.DEFAULT.instance_name_template,
      instance.id,
      instance.uuid,
    );
    server['OS-EXT-SRV-ATTR:hypervisor_hostname'] = instance.node;
    if (flags.v2_3) {
      server['OS-EXT-SRV-ATTR:hostname'] = instance.hostname;
      server['OS-EXT-SRV-ATTR:kernel_id'] = '';
      server['OS-EXT-SRV-ATTR:launch_index'] = instance.launch_index;
      server['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
      server['OS-EXT-SRV-ATTR:reservation_id'] = instance.reservation_id;
      server['OS-EXT-SRV-ATTR:root_device_name'] = null;
      server['OS-EXT-SRV-ATTR:user_data'] = instance.user_data;
    }
  }
  if (flags.v2_9) server['locked'] = instance.locked;
  if (flags.v2_16 && options.hostStatus && flags.hostStatus) {
    server['host_status'] = instance.host
      ? hostStatus(data.computeServices.get(instance.host), config.DEFAULT.service_down_time)
      : '';
  }
  if (flags.v2_19) server['description'] = instance.display_description;
  if (flags.v2_26) server['tags'] = data.tags.get(instance.uuid) ?? [];
  if (flags.v2_63) server['trusted_image_certificates'] = null;
  if (flags.v2_71 && options.serverGroups) {
    const group = data.serverGroups.get(instance.uuid);
    server['server_groups'] = group ? [group] : [];
  }
  if (flags.v2_73) server['locked_reason'] = instance.locked_reason;
  if (flags.v2_90 && !extendedAttributes) server['OS-EXT-SRV-ATTR:hostname'] = instance.hostname;
  if (flags.v2_96 && options.extended) server['pinned_availability_zone'] = data.pinnedAz.get(instance.uuid) ?? null;
  return server;
}

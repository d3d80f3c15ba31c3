/**
 * The query parameters of GET /servers and /servers/detail as Nova takes them (its index query schema
 * and _get_servers): which names exist at each microversion, which a member may use (the others are
 * dropped silently, as Nova's remove_invalid_options does; admins may use all), which filter by equality
 * and which by regular expression, and the 400s for bad values. From 2.75 a name Nova does not know is
 * a 400 rather than ignored.
 * The tag filters (tags, tags-any, not-tags, not-tags-any, 2.26) are parsed by server tags (tags.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Forbidden, NotFound } from '../../../common/errors.ts';
import { getFlavor } from '../../../objects/flavors.ts';
import { vmStatesForStatus } from '../../../wire/messages/instance-states.ts';
import type { ExactFilterColumn, InstanceFilter, RegexFilterColumn } from '../../../objects/instances.ts';
import { atLeast } from '../microversion.ts';
import { queryTime } from '../query-checks.ts';
import { boolFromString, queryValue, queryValues, type Query } from '../validate.ts';
import { tagFilterOf } from './tags.ts';
import { authorize, permits } from '../../policy.ts';

/** Filter name -> the column it compares for equality (Nova's exact-match filters and their aliases). */
const EXACT: Readonly<Record<string, ExactFilterColumn>> = {
  user_id: 'user_id',
  image: 'image_ref',
  image_ref: 'image_ref',
  vm_state: 'vm_state',
  task_state: 'task_state',
  uuid: 'uuid',
  host: 'host',
};

/** Filter name -> the column its regular expression searches. */
const REGEX: Readonly<Record<string, RegexFilterColumn>> = {
  name: 'display_name',
  display_name: 'display_name',
  // Nova's schema names description an alias of display_description (2.19 made it the server's field).
  description: 'display_description',
  display_description: 'display_description',
  hostname: 'hostname',
  key_name: 'key_name',
  power_state: 'power_state',
  node: 'node',
  reservation_id: 'reservation_id',
  launched_at: 'launched_at',
  terminated_at: 'terminated_at',
  availability_zone: 'availability_zone',
  config_drive: 'config_drive',
  access_ip_v4: 'access_ip_v4',
  access_ip_v6: 'access_ip_v6',
  auto_disk_config: 'auto_disk_config',
  progress: 'progress',
  created_at: 'created_at',
  launch_index: 'launch_index',
  locked_by: 'locked_by',
};

/** Regular-expression filters on fields Stratus does not have (no kernel/ramdisk images, no root device name): they match no server. */
const ALWAYS_NULL = ['kernel_id', 'ramdisk_id', 'root_device_name'];

/** Names Nova's schema has for joined tables: an admin who filters on them gets a 400. */
const JOINED_TABLES = [
  'block_device_mapping',
  'services',
  'metadata',
  'system_metadata',
  'info_cache',
  'security_groups',
  'pci_devices',
];

const PAGING_AND_SORTING = ['limit', 'marker', 'sort_key', 'sort_dir'];
const TAG_FILTERS = ['tags', 'tags-any', 'not-tags', 'not-tags-any'];
/** Every other name of Nova's index query schema (2.1). */
const OTHER_NAMES = [
  'project_id',
  'tenant_id',
  'flavor',
  'all_tenants',
  'soft_deleted',
  'deleted',
  'status',
  'changes-since',
  'ip',
  'ip6',
];

/** The names Nova's schema knows at the request's version. */
function knownNames(request: FastifyRequest): Set<string> {
  const names = [
    ...Object.keys(EXACT),
    ...Object.keys(REGEX),
    ...ALWAYS_NULL,
    ...JOINED_TABLES,
    ...PAGING_AND_SORTING,
    ...OTHER_NAMES,
  ];
  if (atLeast(request, '2.26')) names.push(...TAG_FILTERS);
  if (atLeast(request, '2.66')) names.push('changes-before');
  if (atLeast(request, '2.73')) names.push('locked');
  return new Set(names);
}

/** The filters a member may use at the request's version (Nova's _get_server_search_options). */
function memberFilters(request: FastifyRequest): Set<string> {
  const names = ['reservation_id', 'name', 'status', 'image', 'flavor', 'ip', 'changes-since', 'all_tenants'];
  if (atLeast(request, '2.5')) names.push('ip6');
  if (atLeast(request, '2.26')) names.push(...TAG_FILTERS);
  if (atLeast(request, '2.66')) names.push('changes-before');
  if (atLeast(request, '2.73')) names.push('locked');
  if (atLeast(request, '2.83')) {
    names.push(
      'availability_zone',
      'config_drive',
      'key_name',
      'created_at',
      'launched_at',
      'terminated_at',
      'power_state',
      'task_state',
      'vm_state',
      'progress',
      'user_id',
    );
  }
  if (atLeast(request, '2.90')) names.push('hostname');
  return new Set(names);
}

/** ?all_tenants (no value) or a true value selects every project; a value that is no boolean is a 400. */
function allTenants(query: Query): boolean {
  if (!('all_tenants' in query)) return false;
  const value = queryValue(query, 'all_tenants');
  return value ? boolFromString(value, true, 'all_tenants') : true;
}

/**
 * The filter of a server list, from its query: null when it can match no server (an unknown flavor, a
 * status Nova answers with an empty list, a field Stratus does not have). Paging and sorting are the
 * caller's.
 */
export async function serverListFilter(
  db: Db,
  request: FastifyRequest,
  query: Query,
  detail: boolean,
  projectId: string,
): Promise<Omit<InstanceFilter, 'limit'> | null> {
  const ctx = request.ctx;
  const known = knownNames(request);
  if (atLeast(request, '2.75')) {
    const unknown = Object.keys(query).find((name) => !known.has(name) && !name.startsWith('_'));
    if (unknown !== undefined) {
      throw new BadRequest(
        `Invalid input for query parameters ${unknown}. Additional properties are not allowed ('${unknown}' was unexpected)`,
      );
    }
  }
  // Members' other filters are dropped, as Nova drops them, rather than refused.
  const allowed = permits(ctx, 'os_compute_api:servers:allow_all_filters') ? null : memberFilters(request);
  const given = (name: string) => name in query && (allowed === null || allowed.has(name));
  const value = (name: string) => (given(name) ? queryValue(query, name) : undefined);
  if (allowed === null) {
    const invalid = Object.keys(query).find((name) => JOINED_TABLES.includes(name) || name.startsWith('_'));
    if (invalid !== undefined) throw new BadRequest(`Invalid filter field: ${invalid}.`);
  }

  const filter: Omit<InstanceFilter, 'limit'> = { projectId };
  if (allTenants(query)) {
    authorize(ctx, `os_compute_api:servers:${detail ? 'detail' : 'index'}:get_all_tenants`);
    // Without all_tenants Nova ignores project_id and tenant_id: the list is the caller's project.
    filter.projectId = queryValue(query, 'project_id') ?? queryValue(query, 'tenant_id') ?? null;
  }

  const exact: Partial<Record<ExactFilterColumn, string | number>> = {};
  for (const [name, column] of Object.entries(EXACT)) {
    const v = value(name);
    // image may be given as the image's URL; its id is the last segment.
    if (v !== undefined) exact[column] = column === 'image_ref' ? (v.split('/').pop() ?? v) : v;
  }
  const regex: Partial<Record<RegexFilterColumn, string>> = {};
  for (const [name, column] of Object.entries(REGEX)) {
    const v = value(name);
    if (v !== undefined && v !== '') regex[column] = v;
  }
  if (ALWAYS_NULL.some((name) => value(name) !== undefined)) return null;

  const flavor = value('flavor');
  if (flavor !== undefined) {
    try {
      exact.instance_type_id = (await getFlavor(db, flavor.split('/').pop() ?? flavor)).id;
    } catch (err) {
      // Nova answers a filter on an unknown flavor with an empty list, not an error.
      if (err instanceof NotFound) return null;
      throw err;
    }
  }
  const locked = value('locked');
  if (locked !== undefined) exact.locked = boolFromString(locked, true, 'locked') ? 1 : 0;
  const ip = value('ip');
  const ip6 = value('ip6');
  if (ip !== undefined || ip6 !== undefined) {
    filter.addresses = { ...(ip !== undefined ? { ip } : {}), ...(ip6 !== undefined ? { ip6 } : {}) };
  }
  if (atLeast(request, '2.26')) {
    const tags = tagFilterOf(Object.fromEntries(TAG_FILTERS.filter(given).map((name) => [name, query[name]])));
    if (tags) filter.tags = tags;
  }

  const since = given('changes-since') ? queryTime(query, 'changes-since') : undefined;
  const before = given('changes-before') ? queryTime(query, 'changes-before') : undefined;
  if (since && before && before < since) {
    throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  }
  if (since) filter.changesSince = since;
  if (before) filter.changesBefore = before;
  // Changes include deletions: that is how a client polling for changes learns a server is gone.
  if (since || before) filter.includeDeleted = true;

  let statuses = given('status') ? queryValues(query, 'status') : [];
  const deleted = value('deleted');
  // soft_deleted (admins): Nova tests the raw value's truth, so any non-empty value means yes.
  const softDeleted = value('soft_deleted');
  const withSoftDeleted = softDeleted === undefined ? undefined : softDeleted !== '';
  if (deleted !== undefined) {
    filter.includeDeleted = boolFromString(deleted);
    // deleted=true lists the deleted servers only (Nova's deleted filter is a condition, not a widening),
    // and, unless soft_deleted says otherwise, the soft-deleted ones with them.
    if (filter.includeDeleted && statuses.length === 0) {
      statuses = withSoftDeleted === false ? ['DELETED'] : ['DELETED', 'SOFT_DELETED'];
    }
  }
  // Nova's list of live servers leaves out the soft-deleted ones unless soft_deleted asks for them; a
  // list of changes (changes-since/before without deleted) has them all.
  const liveOnly = deleted !== undefined ? !filter.includeDeleted : !(since || before);
  if (liveOnly && !withSoftDeleted) filter.hideSoftDeleted = true;
  if (statuses.length) {
    const recognised = statuses.filter((s) => vmStatesForStatus(s) !== null);
    if (recognised.length === 0) {
      if (atLeast(request, '2.38')) throw new BadRequest('Invalid status value');
      return null;
    }
    if (recognised.some((s) => s.toUpperCase() === 'DELETED')) {
      if (!ctx.isAdmin) throw new Forbidden('Only administrators may list deleted instances');
      filter.includeDeleted = true;
    }
    filter.statuses = recognised;
  }
  if (Object.keys(exact).length) filter.exact = exact;
  if (Object.keys(regex).length) filter.regex = regex;
  return filter;
}

/**
 * Instances: the rows behind servers. State changes go through `updateInstance` with the states the
 * caller expects to find (Nova's expected_task_state): two actors racing on one instance cannot both win,
 * and a message delivered twice finds the state already moved on.
 */
import type { SelectQueryBuilder, Transaction } from 'kysely';
import type { Db } from '../common/db/database.ts';
import { afterMarker, orderTerms, type SortDirection, type SortKey } from '../common/db/keyset-pagination.ts';
import { now, type InstancesTable, type Schema } from '../common/db/schema.ts';
import { BadRequest, Conflict, InstanceInvalidState, NotFound } from '../common/errors.ts';
import { deleteConsoleTokensForInstance } from './console-auth-tokens.ts';
import { deleteDiskSnapshotsOfInstance } from './disk-snapshots.ts';
import { insertTags, removeAllTags, tagCondition, type TagFilter } from './instance-tags.ts';
import type { Flavor } from './flavors.ts';
import { instancesMatchingAddress } from './instance-addresses.ts';
import { vmStatesForStatus, VmState, TaskState, PowerState } from '../wire/messages/instance-states.ts';

type Row = Omit<InstancesTable, 'id'> & { id: number };

export interface Instance extends Omit<Row, 'flavor' | 'locked'> {
  readonly flavor: Flavor;
  readonly locked: boolean;
  readonly metadata: Readonly<Record<string, string>>;
}

/** The mutable fields of an instance, as state changes touch them. */
export type InstanceChanges = Partial<
  Pick<
    Row,
    | 'vm_state'
    | 'task_state'
    | 'power_state'
    | 'host'
    | 'node'
    | 'launched_at'
    | 'terminated_at'
    | 'deleted_at'
    | 'availability_zone'
    | 'display_name'
    | 'display_description'
    | 'progress'
    | 'locked'
    | 'locked_by'
    | 'locked_reason'
    | 'shelved_image_id'
    | 'shelved_at'
    | 'shelved_host'
    /** The flavor snapshot as JSON and the columns copied from it: always set together (`flavorChanges`). */
    | 'flavor'
    | 'instance_type_id'
    | 'vcpus'
    | 'memory_mb'
    | 'root_gb'
    | 'ephemeral_gb'
    | 'auto_disk_config'
  >
>;

/**
 * The instance's flavor and the figures copied from it, which the quota count, the usage reports and
 * the list's sort keys read (Nova's _set_instance_info): a resize's finish or revert changes them all.
 */
export function flavorChanges(flavor: Flavor) {
  return {
    flavor: JSON.stringify(flavor),
    instance_type_id: flavor.id,
    vcpus: flavor.vcpus,
    memory_mb: flavor.memory_mb,
    root_gb: flavor.root_gb,
    ephemeral_gb: flavor.ephemeral_gb,
  };
}

export interface NewInstance {
  uuid: string;
  display_name: string;
  display_description: string | null;
  hostname: string;
  user_id: string;
  project_id: string;
  image_ref: string;
  flavor: Flavor;
  availability_zone: string | null;
  key_name: string | null;
  config_drive: string;
  user_data: string | null;
  reservation_id: string;
  launch_index: number;
  access_ip_v4: string | null;
  access_ip_v6: string | null;
  metadata: Record<string, string>;
  /** The storage tier of the instance's disk (the API resolves it: storage-tier.ts). */
  storage_tier: string;
  /** The public part and type of the key pair named by key_name, copied when the server is created. */
  key_data?: string | null;
  key_type?: string | null;
  /** The admin password the create answered with, kept for the guest (config drive). */
  admin_pass?: string | null;
  /** Server tags given at create (2.52). */
  tags?: readonly string[];
  /** OS-DCF:diskConfig AUTO (true) or MANUAL (false, the default). */
  auto_disk_config?: boolean;
}

/**
 * Parsed flavor snapshots by their stored text: the instances of a cloud share a handful of flavors, and
 * a list of 1000 servers would otherwise parse the same JSON 1000 times. Shared, so never mutated.
 */
const parsedFlavors = new Map<string, Flavor>();
const MAX_PARSED_FLAVORS = 1000;

function parseFlavor(text: string): Flavor {
  let flavor = parsedFlavors.get(text);
  if (!flavor) {
    flavor = Object.freeze(JSON.parse(text) as Flavor);
    if (parsedFlavors.size >= MAX_PARSED_FLAVORS) parsedFlavors.clear();
    parsedFlavors.set(text, flavor);
  }
  return flavor;
}

/**
 * The row becomes the instance in place: the rows are this module's own, and a list of 1000 servers
 * would otherwise copy 36 columns a row only to drop the copies.
 */
function toInstance(row: Row, metadata: Record<string, string>): Instance {
  const fields = row as unknown as Record<keyof Row | 'metadata', unknown>;
  fields.flavor = parseFlavor(row.flavor);
  fields.locked = row.locked === 1;
  fields.metadata = metadata;
  return fields as unknown as Instance;
}

export async function insertInstance(trx: Transaction<Schema> | Db, input: NewInstance): Promise<void> {
  const timestamp = now();
  await trx
    .insertInto('instances')
    .values({
      uuid: input.uuid,
      display_name: input.display_name,
      display_description: input.display_description,
      hostname: input.hostname,
      user_id: input.user_id,
      project_id: input.project_id,
      image_ref: input.image_ref,
      ...flavorChanges(input.flavor),
      host: null,
      node: null,
      vm_state: VmState.BUILDING,
      task_state: TaskState.SCHEDULING,
      power_state: PowerState.NOSTATE,
      availability_zone: input.availability_zone,
      key_name: input.key_name,
      config_drive: input.config_drive,
      user_data: input.user_data,
      reservation_id: input.reservation_id,
      launch_index: input.launch_index,
      locked: 0,
      progress: 0,
      access_ip_v4: input.access_ip_v4,
      access_ip_v6: input.access_ip_v6,
      storage_tier: input.storage_tier,
      key_data: input.key_data ?? null,
      key_type: input.key_type ?? null,
      admin_pass: input.admin_pass ?? null,
      auto_disk_config: input.auto_disk_config ? 1 : 0,
      launched_at: null,
      terminated_at: null,
      created_at: timestamp,
      updated_at: null,
      deleted_at: null,
      deleted: 0,
    })
    .execute();
  const entries = Object.entries(input.metadata);
  if (entries.length) {
    await trx
      .insertInto('instance_metadata')
      .values(entries.map(([key, value]) => ({ instance_uuid: input.uuid, key, value })))
      .execute();
  }
  if (input.tags) await insertTags(trx, input.uuid, input.tags);
}

async function metadataOf(db: Db, uuids: string[]): Promise<Map<string, Record<string, string>>> {
  const result = new Map<string, Record<string, string>>(uuids.map((u) => [u, {}]));
  if (!uuids.length) return result;
  const rows = await db.selectFrom('instance_metadata').selectAll().where('instance_uuid', 'in', uuids).execute();
  for (const row of rows) result.get(row.instance_uuid)![row.key] = row.value;
  return result;
}

export async function findInstance(db: Db, uuid: string, includeDeleted = false): Promise<Instance | null> {
  let query = db.selectFrom('instances').selectAll().where('uuid', '=', uuid);
  if (!includeDeleted) query = query.where('deleted', '=', 0);
  const row = await query.executeTakeFirst();
  if (!row) return null;
  return toInstance(row, (await metadataOf(db, [uuid])).get(uuid) ?? {});
}

export async function getInstance(db: Db, uuid: string, includeDeleted = false): Promise<Instance> {
  const instance = await findInstance(db, uuid, includeDeleted);
  if (!instance) throw new NotFound(`Instance ${uuid} could not be found.`);
  return instance;
}

/** Columns a server list may be sorted on (Nova's valid sort keys that Stratus stores). */
export const INSTANCE_SORT_COLUMNS = [
  'access_ip_v4',
  'access_ip_v6',
  'auto_disk_config',
  'availability_zone',
  'config_drive',
  'created_at',
  'display_description',
  'display_name',
  'host',
  'hostname',
  'image_ref',
  'instance_type_id',
  'key_name',
  'launch_index',
  'launched_at',
  'locked',
  'locked_by',
  'node',
  'power_state',
  'progress',
  'project_id',
  'task_state',
  'terminated_at',
  'updated_at',
  'user_id',
  'uuid',
  'vm_state',
] as const satisfies readonly (keyof InstancesTable)[];

export type InstanceSortColumn = (typeof INSTANCE_SORT_COLUMNS)[number] | 'id';

const NULLABLE_COLUMNS: ReadonlySet<InstanceSortColumn> = new Set([
  'access_ip_v4',
  'access_ip_v6',
  'availability_zone',
  'display_description',
  'host',
  'key_name',
  'launched_at',
  'locked_by',
  'node',
  'task_state',
  'terminated_at',
  'updated_at',
]);

export interface InstanceSort {
  column: InstanceSortColumn;
  direction: SortDirection;
}

/** Columns a list filters on by equality (Nova's exact-match filters). */
export const EXACT_FILTER_COLUMNS = [
  'user_id',
  'image_ref',
  'vm_state',
  'task_state',
  'uuid',
  'host',
  'locked',
  'instance_type_id',
] as const satisfies readonly (keyof InstancesTable)[];
export type ExactFilterColumn = (typeof EXACT_FILTER_COLUMNS)[number];

/**
 * Columns a list filters on by regular expression (Nova's other filters, which MySQL's REGEXP and
 * PostgreSQL's ~ apply: a search anywhere in the value's text; a null never matches).
 */
export const REGEX_FILTER_COLUMNS = [
  'display_name',
  'display_description',
  'hostname',
  'key_name',
  'power_state',
  'node',
  'reservation_id',
  'launched_at',
  'terminated_at',
  'availability_zone',
  'config_drive',
  'access_ip_v4',
  'access_ip_v6',
  'auto_disk_config',
  'progress',
  'created_at',
  'launch_index',
  'locked_by',
] as const satisfies readonly (keyof InstancesTable)[];
export type RegexFilterColumn = (typeof REGEX_FILTER_COLUMNS)[number];

export interface InstanceFilter {
  /** null: every project (admin with all_tenants). */
  projectId: string | null;
  /** column = value. */
  exact?: Partial<Record<ExactFilterColumn, string | number>>;
  /** column's text matches the regular expression. */
  regex?: Partial<Record<RegexFilterColumn, string>>;
  /** A fixed IPv4 (ip) or IPv6 (ip6) address matches the pattern from its start (instance-addresses.ts). */
  addresses?: { ip?: string; ip6?: string };
  /** API statuses (ACTIVE, SHUTOFF...): a server in any of them. */
  statuses?: readonly string[];
  changesSince?: string;
  changesBefore?: string;
  includeDeleted?: boolean;
  /** Leave out soft-deleted servers (vm_state soft-delete), as Nova's list of live servers does. */
  hideSoftDeleted?: boolean;
  limit: number;
  /** uuid of the last instance of the previous page. */
  marker?: string;
  /** The order; created_at and id are added as tie-breakers as Nova does. Default: created_at desc, id desc. */
  sort?: readonly InstanceSort[];
  /** The direction of the tie-breakers; default: that of the first sort key, else desc. */
  sortDirection?: SortDirection;
  /** The tag filters (2.26). */
  tags?: TagFilter;
}

/**
 * The sort keys of a list: the requested ones, then created_at and id (those not requested) in the first
 * direction asked for, so that the order is total and marker paging is exact (Nova's process_sort_params).
 */
function completeSort(
  requested: readonly InstanceSort[],
  direction: SortDirection = requested[0]?.direction ?? 'desc',
): SortKey<InstanceSortColumn>[] {
  const keys = requested.map((k) => ({ ...k, nullable: NULLABLE_COLUMNS.has(k.column) }));
  for (const column of ['created_at', 'id'] as const) {
    if (!keys.some((k) => k.column === column)) keys.push({ column, direction, nullable: false });
  }
  return keys;
}

/** Lists instances in the filter's order (Nova's default: newest first, created_at desc, id desc). */
export async function listInstances(db: Db, filter: InstanceFilter): Promise<Instance[]> {
  const query = await listQuery(db, filter);
  if (!query) return [];
  const rows = await pageOf(query.selectAll() as SelectQueryBuilder<Schema, 'instances', Row>, filter);
  const metadata = await metadataOf(
    db,
    rows.map((r) => r.uuid),
  );
  return rows.map((r) => toInstance(r, metadata.get(r.uuid) ?? {}));
}

/** What identifies a listed instance: enough for the page's order, its marker link and a basic view. */
export interface InstanceKey {
  id: number;
  uuid: string;
  display_name: string;
}

/**
 * The keys of the instances a list selects, in its order: the list's one consistent query, a few dozen
 * bytes per instance. A caller that needs whole instances fetches them with `instancesByKey`, a slice at
 * a time for a long page, so that a page of 1000 servers never holds 1000 full rows at once.
 */
export async function listInstanceKeys(db: Db, filter: InstanceFilter): Promise<InstanceKey[]> {
  const query = await listQuery(db, filter);
  if (!query) return [];
  // The page is cut after the filters applied here, so the keys carry the columns those read.
  const columns = Object.keys(filter.regex ?? {}) as RegexFilterColumn[];
  const rows = await pageOf(query.select(['id', 'uuid', 'display_name', ...columns]), filter);
  return rows.map((row) => ({ id: row.id, uuid: row.uuid, display_name: row.display_name }));
}

/**
 * The instances a filter selects, in its order, columns yet to be chosen; null when its statuses match
 * nothing. A marker that names no instance is Nova's MarkerNotFound: the client's paging is wrong, a 400.
 */
async function listQuery(db: Db, filter: InstanceFilter) {
  let query = db.selectFrom('instances');
  if (!filter.includeDeleted) query = query.where('deleted', '=', 0);
  if (filter.hideSoftDeleted) query = query.where('vm_state', '<>', VmState.SOFT_DELETED);
  if (filter.projectId !== null) query = query.where('project_id', '=', filter.projectId);
  for (const [column, value] of Object.entries(filter.exact ?? {}) as [ExactFilterColumn, string | number][]) {
    query = query.where(column, '=', value);
  }
  if (filter.changesSince) query = query.where('updated_at', '>=', filter.changesSince);
  if (filter.tags) query = query.where((eb) => tagCondition(eb, filter.tags!));
  if (filter.changesBefore) query = query.where('updated_at', '<=', filter.changesBefore);
  if (filter.statuses) {
    const wanted = filter.statuses.map(vmStatesForStatus).filter((s) => s !== null);
    if (!wanted.length) return null;
    query = query.where((eb) =>
      eb.or(
        wanted.map((states) =>
          states.taskStates
            ? eb.and([eb('vm_state', 'in', states.vmStates), eb('task_state', 'in', states.taskStates)])
            : eb('vm_state', 'in', states.vmStates),
        ),
      ),
    );
  }
  const { ip, ip6 } = filter.addresses ?? {};
  if (ip !== undefined || ip6 !== undefined) {
    // Addresses live in the network's tables: the matching instances are found there, in one query.
    const uuids = await instancesMatchingAddress(db, {
      ...(ip !== undefined ? { ip: safeRegExp(ip, true) } : {}),
      ...(ip6 !== undefined ? { ip6: safeRegExp(ip6, true) } : {}),
    });
    if (!uuids.length) return null;
    query = query.where('uuid', 'in', uuids);
  }
  const keys = completeSort(filter.sort ?? [], filter.sortDirection);
  if (filter.marker) {
    const marker = await db.selectFrom('instances').selectAll().where('uuid', '=', filter.marker).executeTakeFirst();
    if (!marker) throw new BadRequest(`marker [${filter.marker}] not found`);
    query = query.where((eb) => afterMarker(eb, keys, marker));
  }
  for (const [term, direction] of orderTerms(keys)) query = query.orderBy(term, direction);
  return query;
}

/**
 * The page of a list. The regular-expression and address filters are applied here, after the SQL
 * filters (the engines do not share one regular-expression syntax, and addresses are no column), which
 * is why such a page is cut after them rather than by a LIMIT.
 */
async function pageOf<R extends Pick<Row, 'uuid'>>(
  query: SelectQueryBuilder<Schema, 'instances', R>,
  filter: InstanceFilter,
): Promise<R[]> {
  const tests = rowTests(filter);
  if (!tests.length) return query.limit(filter.limit).execute();
  return (await query.execute()).filter((row) => tests.every((test) => test(row))).slice(0, filter.limit);
}

function rowTests(filter: InstanceFilter): ((row: Pick<Row, 'uuid'>) => boolean)[] {
  const tests: ((row: Pick<Row, 'uuid'>) => boolean)[] = [];
  for (const [column, pattern] of Object.entries(filter.regex ?? {}) as [RegexFilterColumn, string][]) {
    const re = safeRegExp(pattern);
    tests.push((row) => {
      const value = (row as Partial<Row>)[column];
      return value !== null && value !== undefined && re.test(String(value));
    });
  }
  return tests;
}

/**
 * The instances of these keys, in the order given, deleted or not; a key whose row is no longer in the
 * table (archived since the key was read) is left out. Rows and metadata are read side by side, each in
 * one IN query: for a slice of a page (json-stream.ts), not an unbounded list.
 */
export async function instancesByKey(db: Db, keys: readonly Pick<InstanceKey, 'id' | 'uuid'>[]): Promise<Instance[]> {
  const [rows, metadata] = await Promise.all([
    rowsById(
      db,
      keys.map((k) => k.id),
    ),
    metadataOf(
      db,
      keys.map((k) => k.uuid),
    ),
  ]);
  return rows.map((r) => toInstance(r, metadata.get(r.uuid) ?? {}));
}

async function rowsById(db: Db, ids: readonly number[]): Promise<Row[]> {
  if (!ids.length) return [];
  const rows = await db
    .selectFrom('instances')
    .selectAll()
    .where('id', 'in', [...ids])
    .execute();
  const position = new Map(ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
}

/**
 * The pattern as a regular expression (anchored at the start: Python's re.match); one that is no valid
 * expression matches its own text literally rather than failing the request.
 */
function safeRegExp(pattern: string, anchored = false): RegExp {
  const prefix = anchored ? '^' : '';
  try {
    return new RegExp(anchored ? `^(?:${pattern})` : pattern);
  } catch {
    return new RegExp(prefix + pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  }
}

export interface ExpectedStates {
  /** The update applies only if task_state is one of these (null = no task). */
  taskState?: readonly (string | null)[];
  vmState?: readonly string[];
  /** And only if it is placed on this host. */
  host?: string;
}

/**
 * Applies `changes` if the instance is still in the expected states; otherwise throws
 * InstanceInvalidState naming what it found. Returns the updated instance.
 */
/** Applies `changes` if the instance is in the expected states, and returns it as it now is. */
export async function updateInstance(
  db: Db,
  uuid: string,
  changes: InstanceChanges,
  expected: ExpectedStates = {},
): Promise<Instance> {
  await changeInstance(db, uuid, changes, expected);
  return getInstance(db, uuid);
}

/**
 * Applies `changes` if the instance is in the expected states (one guarded UPDATE); throws NotFound or
 * InstanceInvalidState otherwise. For callers that do not need the row back.
 */
export async function changeInstance(
  db: Db,
  uuid: string,
  changes: InstanceChanges,
  expected: ExpectedStates = {},
): Promise<void> {
  let query = db
    .updateTable('instances')
    .set({ ...changes, updated_at: now() })
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0);
  if (expected.vmState) query = query.where('vm_state', 'in', [...expected.vmState]);
  if (expected.host !== undefined) query = query.where('host', '=', expected.host);
  if (expected.taskState) {
    const values = expected.taskState.filter((s): s is string => s !== null);
    const allowNull = expected.taskState.includes(null);
    query = query.where((eb) => {
      const alternatives = [];
      if (values.length) alternatives.push(eb('task_state', 'in', values));
      if (allowNull) alternatives.push(eb('task_state', 'is', null));
      return eb.or(alternatives);
    });
  }
  const result = await query.executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) {
    const current = await findInstance(db, uuid);
    if (!current) throw new NotFound(`Instance ${uuid} could not be found.`);
    throw new InstanceInvalidState(
      `Instance ${uuid} is in vm_state ${current.vm_state}, task_state ${current.task_state ?? 'None'}` +
        `${expected.host !== undefined ? `, on host ${current.host ?? 'None'}` : ''}; expected ${describeExpected(expected)}.`,
    );
  }
}

function describeExpected(expected: ExpectedStates): string {
  const parts = [];
  if (expected.vmState) parts.push(`vm_state in (${expected.vmState.join(', ')})`);
  if (expected.taskState) parts.push(`task_state in (${expected.taskState.map((s) => s ?? 'None').join(', ')})`);
  if (expected.host !== undefined) parts.push(`host ${expected.host}`);
  return parts.join(' and ');
}

/**
 * Marks the instance deleted (Nova's soft-delete: the row stays for `deleted=true` listings); its console
 * tokens, disk snapshot records and tags die with it.
 */
export async function markInstanceDeleted(db: Db, uuid: string): Promise<void> {
  const row = await db.selectFrom('instances').select('id').where('uuid', '=', uuid).executeTakeFirst();
  if (!row) return;
  const timestamp = now();
  await db
    .updateTable('instances')
    .set({
      deleted: row.id,
      deleted_at: timestamp,
      terminated_at: timestamp,
      updated_at: timestamp,
      vm_state: VmState.DELETED,
      task_state: null,
      power_state: PowerState.NOSTATE,
      // A deleted server's password serves no guest any more: it is not kept in clear longer than needed.
      admin_pass: null,
    })
    .where('uuid', '=', uuid)
    .where('deleted', '=', 0)
    .execute();
  await deleteConsoleTokensForInstance(db, uuid);
  await deleteDiskSnapshotsOfInstance(db, uuid);
  await removeAllTags(db, uuid);
}

export async function countInstancesOnHost(db: Db, host: string): Promise<number> {
  const row = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('host', '=', host)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export function assertNotLocked(instance: Instance, isAdmin: boolean): void {
  if (instance.locked && !isAdmin) throw new Conflict(`Instance ${instance.uuid} is locked`);
}

/** Where the live ones of `uuids` run, as [host, node] pairs (for the same_host/different_host hints). */
export async function nodesOfInstances(db: Db, uuids: readonly string[]): Promise<[string, string][]> {
  if (!uuids.length) return [];
  const rows = await db
    .selectFrom('instances')
    .select(['host', 'node'])
    .where('uuid', 'in', [...uuids])
    .where('deleted', '=', 0)
    .where('host', 'is not', null)
    .execute();
  return rows.map((r) => [r.host!, r.node ?? r.host!]);
}

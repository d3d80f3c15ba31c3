/**
 * Quotas as Nova counts them: limits are stored (a project's, a user's within a project, and quota
 * classes, the `default` class standing over the `[quota]` options), usage never is. What a project
 * uses is counted from the rows that use it (its live instances, its server groups...) whenever a
 * check or a view needs it, so there is no usage record that could drift from the truth.
 *
 * Each countable resource has a counting function (`registerUsageCounter`), so a feature that owns a
 * resource plugs its count in with one call (as key pairs do, below). `checkDeltas` is what features call before
 * they add or grow something: it counts, adds the deltas and compares with the limits, with Nova's
 * rules for project and user scopes.
 *
 * Two API processes racing to the last unit of a quota must not both pass: `lockProjectQuota` takes a
 * per-project row lock inside the transaction that counts and inserts (SQLite needs none: a write
 * transaction there is BEGIN IMMEDIATE, one writer at a time).
 */
import { MysqlAdapter, SqliteAdapter, sql, type RawBuilder, type Transaction } from 'kysely';
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { now, type Schema } from '../common/db/schema.ts';
import { QuotaExceeded } from '../common/errors.ts';
import { VmState } from '../wire/messages/instance-states.ts';
import { countKeyPairs } from './key-pairs.ts';
import { UNFINISHED_MIGRATION_STATUSES } from './migrations.ts';

/** Nova's resources, in the order its API lists them. */
export const QUOTA_RESOURCES = [
  'cores',
  'injected_files',
  'injected_file_content_bytes',
  'injected_file_path_bytes',
  'instances',
  'key_pairs',
  'metadata_items',
  'ram',
  'server_groups',
  'server_group_members',
  // nova-network's, which Nova still reports (unlimited, never counted) to keep its old responses.
  'fixed_ips',
  'floating_ips',
  'security_groups',
  'security_group_rules',
] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export type Limits = Record<QuotaResource, number>;
export type Counts = Partial<Record<QuotaResource, number>>;

export const UNLIMITED = -1;
const DEFAULT_QUOTA_CLASS = 'default';

/** Resources a project has but its users do not: a user-scoped update of them sets the project's. */
const PER_PROJECT_RESOURCES: readonly QuotaResource[] = ['fixed_ips', 'floating_ips'];

/** The `[quota]` option that gives each resource's default; none means unlimited. */
const DEFAULT_OPTION: Partial<Record<QuotaResource, keyof Config['quota']>> = {
  cores: 'cores',
  injected_files: 'injected_files',
  injected_file_content_bytes: 'injected_file_content_bytes',
  injected_file_path_bytes: 'injected_file_path_length',
  instances: 'instances',
  key_pairs: 'key_pairs',
  metadata_items: 'metadata_items',
  ram: 'ram',
  server_groups: 'server_groups',
  server_group_members: 'server_group_members',
};

type Executor = Db | Transaction<Schema>;

function isQuotaResource(name: string): name is QuotaResource {
  return (QUOTA_RESOURCES as readonly string[]).includes(name);
}

/** NoopQuotaDriver: every limit unlimited, nothing enforced. */
export function quotasEnforced(config: Config): boolean {
  return config.quota.driver !== 'nova.quota.NoopQuotaDriver';
}

function allUnlimited(): Limits {
  return Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, UNLIMITED])) as Limits;
}

function configDefaults(config: Config): Limits {
  return Object.fromEntries(
    QUOTA_RESOURCES.map((r) => {
      const option = DEFAULT_OPTION[r];
      return [r, option ? (config.quota[option] as number) : UNLIMITED];
    }),
  ) as Limits;
}

function rowsToCounts(rows: readonly { resource: string; hard_limit: number }[]): Counts {
  const result: Counts = {};
  for (const row of rows) if (isQuotaResource(row.resource)) result[row.resource] = Number(row.hard_limit);
  return result;
}

// ---- Limits ---------------------------------------------------------------------------------------

/** A quota class's limits: its rows over the `[quota]` options (Nova's get_class_quotas). */
export async function classLimits(db: Executor, config: Config, className: string): Promise<Limits> {
  if (!quotasEnforced(config)) return allUnlimited();
  const rows = await db
    .selectFrom('quota_classes')
    .select(['resource', 'hard_limit'])
    .where('class_name', '=', className)
    .execute();
  return { ...configDefaults(config), ...rowsToCounts(rows) };
}

/** The defaults every project starts from: the `default` class over the `[quota]` options. */
export function defaultLimits(db: Executor, config: Config): Promise<Limits> {
  return classLimits(db, config, DEFAULT_QUOTA_CLASS);
}

/** What is stored for a project, and for one of its users when `userId` is given. */
interface StoredLimits {
  project: Counts;
  user: Counts;
  /** Every user's stored limits in the project, summed per resource (for the settable range). */
  usersTotal: Counts;
}

async function storedLimits(db: Executor, projectId: string, userId: string | null): Promise<StoredLimits> {
  const [project, users] = await Promise.all([
    db.selectFrom('quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute(),
    db
      .selectFrom('project_user_quotas')
      .select(['user_id', 'resource', 'hard_limit'])
      .where('project_id', '=', projectId)
      .execute(),
  ]);
  const usersTotal: Counts = {};
  for (const row of users) {
    if (!isQuotaResource(row.resource)) continue;
    usersTotal[row.resource] = (usersTotal[row.resource] ?? 0) + Number(row.hard_limit);
  }
  return {
    project: rowsToCounts(project),
    user: userId === null ? {} : rowsToCounts(users.filter((r) => r.user_id === userId)),
    usersTotal,
  };
}

/** The limits that apply to a project, or to a user in it: user rows over project rows over defaults. */
export async function effectiveLimits(
  db: Executor,
  config: Config,
  projectId: string,
  userId: string | null = null,
): Promise<Limits> {
  if (!quotasEnforced(config)) return allUnlimited();
  const [defaults, stored] = await Promise.all([defaultLimits(db, config), storedLimits(db, projectId, userId)]);
  return { ...defaults, ...stored.project, ...stored.user };
}

export interface SettableRange {
  minimum: number;
  maximum: number;
}

const isUnlimited = (v: number) => v <= UNLIMITED;

/**
 * Nova's get_settable_quotas: the range an update may set without `force`. A project's limit may not
 * go below what it uses nor below what its users' own limits add up to; a user's limit may not go
 * below what the user uses nor above what the project leaves (its limit less every user's limits,
 * plus this user's current one). -1 stands for unlimited on either side.
 */
export async function settableRanges(
  db: Executor,
  config: Config,
  projectId: string,
  userId: string | null,
): Promise<Record<QuotaResource, SettableRange>> {
  const [defaults, stored, projectUsage, userUsage] = await Promise.all([
    defaultLimits(db, config),
    storedLimits(db, projectId, userId),
    displayedUsage(db, config, projectId, null),
    userId === null ? null : displayedUsage(db, config, projectId, userId),
  ]);
  const ranges = {} as Record<QuotaResource, SettableRange>;
  for (const resource of QUOTA_RESOURCES) {
    const limit = stored.project[resource] ?? defaults[resource];
    const remains = limit - (stored.usersTotal[resource] ?? 0);
    if (userUsage !== null) {
      const current = stored.user[resource] ?? 0;
      ranges[resource] = {
        minimum: userUsage[resource],
        maximum: isUnlimited(remains) || isUnlimited(current) ? UNLIMITED : remains + current,
      };
    } else {
      const givenToUsers = isUnlimited(limit) || isUnlimited(remains) ? UNLIMITED : limit - remains;
      ranges[resource] = { minimum: Math.max(givenToUsers, projectUsage[resource]), maximum: UNLIMITED };
    }
  }
  return ranges;
}

/** Sets limits of a project, or of a user in it (per-project resources go to the project either way). */
export async function setLimits(db: Db, projectId: string, userId: string | null, limits: Counts): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const [resource, hardLimit] of Object.entries(limits) as [QuotaResource, number][]) {
      const perUser = userId !== null && !PER_PROJECT_RESOURCES.includes(resource);
      if (perUser) {
        await upsert(trx, 'project_user_quotas', { project_id: projectId, user_id: userId, resource }, hardLimit);
      } else {
        await upsert(trx, 'quotas', { project_id: projectId, resource }, hardLimit);
      }
    }
  });
}

/** Sets limits of a quota class. */
export async function setClassLimits(db: Db, className: string, limits: Counts): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const [resource, hardLimit] of Object.entries(limits) as [QuotaResource, number][]) {
      await upsert(trx, 'quota_classes', { class_name: className, resource }, hardLimit);
    }
  });
}

type LimitTable = 'quotas' | 'project_user_quotas' | 'quota_classes';

/** Update the row the key names, or insert it: the unique key makes a racing second insert fail. */
async function upsert(
  trx: Transaction<Schema>,
  table: LimitTable,
  key: Record<string, string>,
  hardLimit: number,
): Promise<void> {
  const stamp = now();
  let update = trx.updateTable(table).set({ hard_limit: hardLimit, updated_at: stamp });
  for (const [column, value] of Object.entries(key)) {
    // The key's columns belong to the table; the builder's types cannot follow a dynamic table name.
    update = update.where(column as 'resource', '=', value);
  }
  const result = await update.executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return;
  await trx
    .insertInto(table)
    .values({ ...key, hard_limit: hardLimit, created_at: stamp, updated_at: null } as never)
    .execute();
}

/** Drops a project's stored limits (its users' too), or one user's; true when there were any. */
export async function deleteLimits(db: Db, projectId: string, userId: string | null): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    let users = trx.deleteFrom('project_user_quotas').where('project_id', '=', projectId);
    if (userId !== null) users = users.where('user_id', '=', userId);
    const removed = Number((await users.executeTakeFirst()).numDeletedRows);
    if (userId !== null) return removed > 0;
    const project = await trx.deleteFrom('quotas').where('project_id', '=', projectId).executeTakeFirst();
    return removed + Number(project.numDeletedRows) > 0;
  });
}

// ---- Counting -------------------------------------------------------------------------------------

export interface UsageScope {
  projectId: string;
  userId: string;
  /** The server group whose members are counted (server_group_members). */
  groupId?: number;
}

/** A count across the project and/or across the user, as Nova's count_as_dict returns it. */
export interface UsageCounts {
  project?: Counts;
  user?: Counts;
}

export type UsageCounter = (db: Executor, scope: UsageScope, config: Config) => Promise<UsageCounts>;

const counters = new Map<QuotaResource, UsageCounter>();

/** Makes `resource` countable; the counter may count others with it (instances, cores and ram at once). */
export function registerUsageCounter(resource: QuotaResource, counter: UsageCounter): void {
  counters.set(resource, counter);
}

/** A count scoped to the user only (key pairs, members of a group), in the shape a counter returns. */
export async function perUser(resource: QuotaResource, count: Promise<number> | number): Promise<UsageCounts> {
  return { user: { [resource]: Number(await count) } };
}

/**
 * The SELECT that counts a project's live servers, and one user's among them, in one scan: columns
 * instances, cores, ram, user_instances, user_cores, user_ram. With `[quota] count_usage_from_placement`
 * cores and ram are what the servers hold in placement (none for a server never scheduled).
 *
 * A server being resized (its move not yet confirmed or reverted) counts the larger of its two flavors'
 * vCPUs and memory, whichever way the move ends, so no resize can take a user past a quota (see
 * `moveGrowth`). From placement it counts what it holds, as in Nova: both the destination's allocation
 * and the source's, which its migration holds, plus the growth of a move whose destination is not yet
 * claimed.
 */
function instanceUsageSelect(config: Config, projectId: string, userId: string, onlyIf = sql`1 = 1`) {
  // Soft-deleted servers can still be restored, yet Nova does not count them: restoring checks again.
  const where = sql`from instances i where i.project_id = ${projectId} and i.deleted = 0
    and i.vm_state <> ${VmState.SOFT_DELETED} and ${onlyIf}`;
  const mine = sql`i.user_id = ${userId}`;
  const instances = sql`count(*) as instances,
    coalesce(sum(case when ${mine} then 1 else 0 end), 0) as user_instances`;
  // `onlyIf` gates the moves' subquery too, so a create that needs no count reads no migrations either.
  const growth = (column: 'peak_vcpus' | 'peak_memory_mb', onlyMine: boolean, unclaimed = false) =>
    moveGrowth(column, { projectId, userId: onlyMine ? userId : null, unclaimed, onlyIf });
  if (!config.quota.count_usage_from_placement) {
    return sql`select ${instances},
      coalesce(sum(i.vcpus), 0) + ${growth('peak_vcpus', false)} as cores,
      coalesce(sum(i.memory_mb), 0) + ${growth('peak_memory_mb', false)} as ram,
      coalesce(sum(case when ${mine} then i.vcpus else 0 end), 0) + ${growth('peak_vcpus', true)} as user_cores,
      coalesce(sum(case when ${mine} then i.memory_mb else 0 end), 0) + ${growth('peak_memory_mb', true)} as user_ram
      ${where}`;
  }
  const ofUser = (onlyMine: boolean) => (onlyMine ? sql`and j.user_id = ${userId}` : sql``);
  const held = (classes: string[], onlyMine: boolean) =>
    sql`(select coalesce(sum(a.used), 0) from allocations a join instances j on j.uuid = a.consumer_id
      where j.project_id = ${projectId} and j.deleted = 0
        and a.resource_class in (${sql.join(classes)}) ${ofUser(onlyMine)})`;
  // The source's share of a move is held under its migration's uuid (Nova's migration-based allocations).
  const heldForMoves = (classes: string[], onlyMine: boolean) =>
    sql`(select coalesce(sum(a.used), 0) from migrations m join instances j on j.uuid = m.instance_uuid
      join allocations a on a.consumer_id = m.uuid
      where m.status in (${sql.join([...UNFINISHED_MIGRATION_STATUSES])}) and j.project_id = ${projectId}
        and j.deleted = 0 and a.resource_class in (${sql.join(classes)}) ${ofUser(onlyMine)})`;
  const cores = (onlyMine: boolean) =>
    sql`${held(['VCPU', 'PCPU'], onlyMine)} + ${heldForMoves(['VCPU', 'PCPU'], onlyMine)}
      + ${growth('peak_vcpus', onlyMine, true)}`;
  const ram = (onlyMine: boolean) =>
    sql`${held(['MEMORY_MB'], onlyMine)} + ${heldForMoves(['MEMORY_MB'], onlyMine)}
      + ${growth('peak_memory_mb', onlyMine, true)}`;
  return sql`select ${instances},
    ${cores(false)} as cores,
    ${ram(false)} as ram,
    ${cores(true)} as user_cores,
    ${ram(true)} as user_ram
    ${where}`;
}

/**
 * What the unfinished moves of a project's live servers (one user's, when `userId` is given) add to
 * their count: for each, how far the larger of its two flavors (`column`: vCPUs or memory) exceeds the
 * flavor the server has now. The server's own columns hold the old flavor until the destination has
 * finished and the new one after (until a revert), so whichever it is, the server counts the larger
 * until the move is confirmed or reverted: a resize up counts the new size from the moment it is
 * accepted, and a resize down keeps counting the old size, which a revert gives back. `unclaimed`
 * keeps only the moves whose destination is not yet claimed in placement (no destination recorded).
 * The moves are found through the status index: a handful at most, whatever the project's size.
 */
function moveGrowth(
  column: 'peak_vcpus' | 'peak_memory_mb',
  of: { projectId: string; userId: string | null; unclaimed: boolean; onlyIf: RawBuilder<unknown> },
) {
  const { projectId, userId, unclaimed, onlyIf } = of;
  const current = column === 'peak_vcpus' ? sql.ref('j.vcpus') : sql.ref('j.memory_mb');
  const peak = sql.ref(`m.${column}`);
  return sql`(select coalesce(sum(case when ${peak} > ${current} then ${peak} - ${current} else 0 end), 0)
    from migrations m join instances j on j.uuid = m.instance_uuid
    where m.status in (${sql.join([...UNFINISHED_MIGRATION_STATUSES])}) and j.project_id = ${projectId}
      and j.deleted = 0 and j.vm_state <> ${VmState.SOFT_DELETED}
      ${userId === null ? sql`` : sql`and j.user_id = ${userId}`}
      ${unclaimed ? sql`and m.dest_compute is null` : sql``} and ${onlyIf})`;
}

interface InstanceUsageRow {
  instances: number;
  cores: number | null;
  ram: number | null;
  user_instances: number | null;
  user_cores: number | null;
  user_ram: number | null;
}

function instanceCounts(row: InstanceUsageRow | undefined): UsageCounts {
  return {
    project: { instances: Number(row?.instances ?? 0), cores: Number(row?.cores ?? 0), ram: Number(row?.ram ?? 0) },
    user: {
      instances: Number(row?.user_instances ?? 0),
      cores: Number(row?.user_cores ?? 0),
      ram: Number(row?.user_ram ?? 0),
    },
  };
}

/** Instances, cores and ram of a project's live servers, and of one user's among them. */
const countInstances: UsageCounter = async (db, scope, config) => {
  const query = instanceUsageSelect(config, scope.projectId, scope.userId) as ReturnType<typeof sql<InstanceUsageRow>>;
  return instanceCounts((await query.execute(db)).rows[0]);
};

const countServerGroups: UsageCounter = async (db, scope) => {
  const row = await db
    .selectFrom('instance_groups')
    .select([
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.sum<number>(eb.case().when('user_id', '=', scope.userId).then(1).else(0).end()).as('mine'),
    ])
    .where('project_id', '=', scope.projectId)
    .executeTakeFirst();
  return { project: { server_groups: Number(row?.n ?? 0) }, user: { server_groups: Number(row?.mine ?? 0) } };
};

/** The user's live servers in the group (Nova counts group members per user). */
const countGroupMembers: UsageCounter = async (db, scope) => {
  if (scope.groupId === undefined) return perUser('server_group_members', 0);
  const row = await db
    .selectFrom('instance_group_members as m')
    .innerJoin('instances as i', 'i.uuid', 'm.instance_uuid')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('m.group_id', '=', scope.groupId)
    .where('i.deleted', '=', 0)
    // Nova lists the members as live servers, which leaves the soft-deleted out.
    .where('i.vm_state', '<>', VmState.SOFT_DELETED)
    .where('i.user_id', '=', scope.userId)
    .executeTakeFirst();
  return perUser('server_group_members', Number(row?.n ?? 0));
};

registerUsageCounter('instances', countInstances);
registerUsageCounter('cores', countInstances);
registerUsageCounter('ram', countInstances);
registerUsageCounter('server_groups', countServerGroups);
registerUsageCounter('server_group_members', countGroupMembers);
registerUsageCounter('key_pairs', (db, scope) => perUser('key_pairs', countKeyPairs(db, scope.userId)));

/**
 * Usage as the quota views show it (Nova's _get_usages): counted for instances, cores, ram and server
 * groups, across the project or across the user; key pairs and group members (which are per user or
 * per group, not per project) and the resources that are limits only show 0.
 */
export async function displayedUsage(
  db: Executor,
  config: Config,
  projectId: string,
  userId: string | null,
): Promise<Record<QuotaResource, number>> {
  const usage = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, 0])) as Record<QuotaResource, number>;
  if (!quotasEnforced(config)) return Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, -1])) as typeof usage;
  const scope = { projectId, userId: userId ?? '' };
  const counted = await Promise.all([countInstances(db, scope, config), countServerGroups(db, scope, config)]);
  for (const count of counted) Object.assign(usage, userId === null ? count.project : count.user);
  // Key pairs belong to users, not projects: a project's own figure stays 0, as Nova shows it.
  if (userId !== null) usage.key_pairs = await countKeyPairs(db, userId);
  return usage;
}

/** What a server create checks, read in one query inside its transaction (`createQuotaSnapshot`). */
export interface CreateQuotaSnapshot {
  /**
   * Instances, cores and ram across the project and across the requesting user; left uncounted (0) when
   * no limit applies to any of the three.
   */
  usage: Required<UsageCounts>;
  /** The user's live servers in the requested group (0 without a group). */
  groupMembers: number;
  /** The limits of the project, and of the user within it (user rows over project rows over defaults). */
  projectLimits: Limits;
  userLimits: Limits;
  /** Whether the user has limits of their own on instances, cores or ram (only then is the user checked). */
  userLimited: boolean;
  /** Whether any limit applies to instances, cores or ram (then racing creates must take turns). */
  serversLimited: boolean;
}

const CREATE_RESOURCES: readonly QuotaResource[] = [
  'instances',
  'cores',
  'ram',
  'metadata_items',
  'server_group_members',
];

interface SnapshotRow extends InstanceUsageRow {
  group_members: number | null;
  scope: 'project' | 'user' | 'default' | null;
  resource: string | null;
  hard_limit: number | null;
}

const SERVER_RESOURCES: readonly QuotaResource[] = ['instances', 'cores', 'ram'];

/** Whether the `[quota]` options limit servers, cores or ram (Nova's defaults do). */
export function serverLimitsConfigured(config: Config): boolean {
  const defaults = configDefaults(config);
  return SERVER_RESOURCES.some((r) => defaults[r] >= 0);
}

/**
 * A condition true when some limit on servers, cores or ram applies to the scope. When the `[quota]`
 * options leave all three unlimited and no stored limit sets one, the create needs no count, and the
 * condition (evaluated once, before the scan) spares the scan of the project's servers: a cloud that
 * runs without server quotas pays nothing for counting them.
 */
function anyServerLimit(config: Config, scope: UsageScope) {
  if (serverLimitsConfigured(config)) return sql`1 = 1`;
  const resources = sql.join([...SERVER_RESOURCES]);
  return sql`(exists (select 1 from quotas where project_id = ${scope.projectId}
      and resource in (${resources}) and hard_limit >= 0)
    or exists (select 1 from project_user_quotas where project_id = ${scope.projectId}
      and user_id = ${scope.userId} and resource in (${resources}) and hard_limit >= 0)
    or exists (select 1 from quota_classes where class_name = ${DEFAULT_QUOTA_CLASS}
      and resource in (${resources}) and hard_limit >= 0))`;
}

/**
 * One round trip for everything a create checks: the usage row (servers counted across the project and
 * the user, the user's members of the group) joined with every stored limit of those resources (the
 * project's, the user's, the default class's); the `[quota]` options fill in the rest.
 */
export async function createQuotaSnapshot(
  db: Executor,
  config: Config,
  scope: UsageScope,
): Promise<CreateQuotaSnapshot> {
  const resources = sql.join([...CREATE_RESOURCES]);
  const members =
    scope.groupId === undefined
      ? sql`0`
      : sql`(select count(*) from instance_group_members m join instances g on g.uuid = m.instance_uuid
          where m.group_id = ${scope.groupId} and g.deleted = 0 and g.vm_state <> ${VmState.SOFT_DELETED}
            and g.user_id = ${scope.userId})`;
  const counted = instanceUsageSelect(config, scope.projectId, scope.userId, anyServerLimit(config, scope));
  const query = sql<SnapshotRow>`select u.*, ${members} as group_members, l.scope, l.resource, l.hard_limit
    from (${counted}) u
    left join (
      select 'project' as scope, resource, hard_limit from quotas
        where project_id = ${scope.projectId} and resource in (${resources})
      union all
      select 'user' as scope, resource, hard_limit from project_user_quotas
        where project_id = ${scope.projectId} and user_id = ${scope.userId} and resource in (${resources})
      union all
      select 'default' as scope, resource, hard_limit from quota_classes
        where class_name = ${DEFAULT_QUOTA_CLASS} and resource in (${resources})
    ) l on 1 = 1`;
  const rows = (await query.execute(db)).rows;
  const stored: Record<'project' | 'user' | 'default', Counts> = { project: {}, user: {}, default: {} };
  for (const row of rows) {
    if (row.scope && row.resource && isQuotaResource(row.resource)) {
      stored[row.scope][row.resource] = Number(row.hard_limit);
    }
  }
  const usage = instanceCounts(rows[0]) as Required<UsageCounts>;
  const projectLimits = quotasEnforced(config)
    ? { ...configDefaults(config), ...stored.default, ...stored.project }
    : allUnlimited();
  const userLimits = quotasEnforced(config) ? { ...projectLimits, ...stored.user } : allUnlimited();
  return {
    usage,
    groupMembers: Number(rows[0]?.group_members ?? 0),
    projectLimits,
    userLimits,
    userLimited: ['instances', 'cores', 'ram'].some((r) => r in stored.user),
    serversLimited: [projectLimits, userLimits].some((l) => SERVER_RESOURCES.some((r) => l[r] >= 0)),
  };
}

// ---- Checking -------------------------------------------------------------------------------------

/** What went over, as Nova's OverQuota carries it. */
export interface OverQuota {
  overs: QuotaResource[];
  /** The limits of the scope that was exceeded. */
  limits: Limits;
  /** The usage (before the deltas) of that scope. */
  usage: Counts;
  scope: 'project' | 'user';
}

/** Whether `value` goes past `limit` (-1, or any negative limit, is unlimited). */
export function exceeds(limit: number, value: number): boolean {
  return limit >= 0 && limit < value;
}

/**
 * Nova's limit check for usage plus deltas (check_deltas + limit_check_project_and_user): a resource
 * counted across both the project and the user must fit both limits; one counted across the user only
 * (key pairs, group members) must fit the smaller of the two. Returns null when everything fits.
 */
export async function findOverQuota(
  db: Executor,
  config: Config,
  deltas: Counts,
  scope: UsageScope,
): Promise<OverQuota | null> {
  if (!quotasEnforced(config)) return null;
  const resources = Object.keys(deltas) as QuotaResource[];
  const counted: UsageCounts = { project: {}, user: {} };
  const seen = new Set<UsageCounter>();
  for (const resource of resources) {
    const counter = counters.get(resource);
    if (!counter) throw new Error(`No usage counter is registered for quota resource ${resource}`);
    if (seen.has(counter)) continue;
    seen.add(counter);
    const count = await counter(db, scope, config);
    Object.assign(counted.project!, count.project);
    Object.assign(counted.user!, count.user);
  }
  const [projectLimits, userLimits] = await Promise.all([
    effectiveLimits(db, config, scope.projectId),
    effectiveLimits(db, config, scope.projectId, scope.userId),
  ]);
  // Counted across the project and the user: each scope against its own limit. Counted across the
  // user only: against the smaller of the two limits (as Nova merges them, -1 included).
  const projectOvers: QuotaResource[] = [];
  const userOvers: QuotaResource[] = [];
  const userOnlyOvers: QuotaResource[] = [];
  const merged = { ...projectLimits };
  for (const resource of resources) {
    const delta = deltas[resource] ?? 0;
    const inProject = counted.project![resource];
    const inUser = counted.user![resource];
    if (inProject !== undefined && inUser !== undefined) {
      if (exceeds(projectLimits[resource], inProject + delta)) projectOvers.push(resource);
      else if (exceeds(userLimits[resource], inUser + delta)) userOvers.push(resource);
    } else {
      merged[resource] = Math.min(projectLimits[resource], userLimits[resource]);
      if (exceeds(merged[resource], (inProject ?? inUser ?? 0) + delta)) userOnlyOvers.push(resource);
    }
  }
  if (userOnlyOvers.length) {
    return { overs: userOnlyOvers.sort(), limits: merged, usage: { ...counted.user }, scope: 'user' };
  }
  if (!projectOvers.length && !userOvers.length) return null;
  const scopeName = userOvers.length ? 'user' : 'project';
  return {
    overs: [...projectOvers, ...userOvers].sort(),
    limits: scopeName === 'user' ? userLimits : projectLimits,
    usage: scopeName === 'user' ? counted.user! : counted.project!,
    scope: scopeName,
  };
}

/**
 * Refuses (403, QuotaExceeded) when `deltas` on top of what the scope uses would exceed a quota.
 * `message` says it in the words of the caller's resource (Nova words each resource's refusal).
 * For an atomic check, call it in the transaction that inserts, after `lockProjectQuota`.
 */
export async function checkDeltas(
  db: Executor,
  config: Config,
  deltas: Counts,
  scope: UsageScope,
  message: string | ((over: OverQuota) => string),
): Promise<void> {
  const found = await findOverQuota(db, config, deltas, scope);
  if (found) throw new QuotaExceeded(typeof message === 'string' ? message : message(found));
}

/**
 * Nova's limit_check for limits without usage (metadata items per server): the value must fit the
 * project's and the user's limit. Returns the limit exceeded, or null.
 */
export async function exceededLimit(
  db: Executor,
  config: Config,
  resource: QuotaResource,
  value: number,
  scope: { projectId: string; userId: string },
): Promise<number | null> {
  if (!quotasEnforced(config)) return null;
  const [project, user] = await Promise.all([
    effectiveLimits(db, config, scope.projectId),
    effectiveLimits(db, config, scope.projectId, scope.userId),
  ]);
  return exceeds(project[resource], value) || exceeds(user[resource], value) ? project[resource] : null;
}

// ---- The race guard -------------------------------------------------------------------------------

/** SQLite: a write transaction (BEGIN IMMEDIATE) already excludes every other writer. */
export function writersTakeTurns(db: Executor): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * Takes the project's quota lock for the rest of `trx`: creates counted against the project's quotas
 * then count and insert one after another, whichever API process runs them. An UPDATE takes the row
 * lock on MariaDB and PostgreSQL, and their next statements read what the previous holder committed
 * (InnoDB's first consistent read comes after the lock; PostgreSQL reads a fresh snapshot per
 * statement). SQLite admits one writer at a time, so a write transaction already holds the lock.
 * One statement per create; the row is inserted the first time a project needs it.
 */
export async function lockProjectQuota(trx: Transaction<Schema>, projectId: string): Promise<void> {
  if (writersTakeTurns(trx)) return;
  const stamp = now();
  const take = () =>
    trx
      .updateTable('quota_project_locks')
      .set({ locked_at: stamp })
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  if (Number((await take()).numUpdatedRows) > 0) return;
  // The first create of the project: add its row (a racing process may add it too), then lock it.
  const insert = trx.insertInto('quota_project_locks').values({ project_id: projectId, locked_at: stamp });
  if (trx.getExecutor().adapter instanceof MysqlAdapter) await insert.ignore().execute();
  else await insert.onConflict((oc) => oc.column('project_id').doNothing()).execute();
  await take();
}

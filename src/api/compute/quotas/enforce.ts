/**
 * The quota checks of the compute API, with Nova's rules and messages (all 403): the servers a create
 * may make (instances, cores, ram; max_count lowered to what fits when that still meets min_count),
 * metadata items per server, server groups and their members. The counting and the limits are
 * objects/quotas.ts; this decides and words the refusal.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Config } from '../../../common/config/load-config.ts';
import type { Db } from '../../../common/db/database.ts';
import { QuotaExceeded } from '../../../common/errors.ts';
import {
  checkDeltas,
  exceeds,
  exceededLimit,
  type CreateQuotaSnapshot,
  type Counts,
  type Limits,
  type UsageScope,
} from '../../../objects/quotas.ts';

const SERVER_RESOURCES = ['instances', 'cores', 'ram'] as const;
type ServerResource = (typeof SERVER_RESOURCES)[number];

export interface ServerRequest {
  vcpus: number;
  memoryMb: number;
  minCount: number;
  maxCount: number;
  /** Metadata items each server gets. */
  metadataItems: number;
  /** Whether the servers join a server group (then its members are counted). */
  inGroup: boolean;
}

function metadataLimitMessage(allowed: number): string {
  return `Maximum number of metadata items exceeds ${allowed}`;
}

const GROUP_MEMBERS_MESSAGE = 'Quota exceeded, too many servers in group';
const SERVER_GROUPS_MESSAGE = 'Quota exceeded, too many server groups.';

/**
 * How many servers of the request may be created, from what the project (and the user, if they have
 * limits of their own) already uses: max_count when it fits, else the most that fit if that is at least
 * min_count. Otherwise a QuotaExceeded naming the quotas, as Nova's check_num_instances_quota words it.
 */
export function serversAllowed(snapshot: CreateQuotaSnapshot, request: ServerRequest): number {
  const { projectLimits, userLimits } = snapshot;
  if (
    exceeds(projectLimits.metadata_items, request.metadataItems) ||
    exceeds(userLimits.metadata_items, request.metadataItems)
  ) {
    throw new QuotaExceeded(metadataLimitMessage(projectLimits.metadata_items));
  }
  const count = instancesThatFit(snapshot, request, request.maxCount);
  if (request.inGroup) {
    const limit = Math.min(snapshot.projectLimits.server_group_members, snapshot.userLimits.server_group_members);
    if (exceeds(limit, snapshot.groupMembers + count)) throw new QuotaExceeded(GROUP_MEMBERS_MESSAGE);
  }
  return count;
}

function instancesThatFit(snapshot: CreateQuotaSnapshot, request: ServerRequest, maxCount: number): number {
  const { minCount, vcpus, memoryMb } = request;
  const deltas: Record<ServerResource, number> = {
    instances: maxCount,
    cores: maxCount * vcpus,
    ram: maxCount * memoryMb,
  };
  const overs: ServerResource[] = [];
  let overUser = false;
  for (const resource of SERVER_RESOURCES) {
    if (exceeds(snapshot.projectLimits[resource], snapshot.usage.project[resource]! + deltas[resource])) {
      overs.push(resource);
    } else if (
      snapshot.userLimited &&
      exceeds(snapshot.userLimits[resource], snapshot.usage.user[resource]! + deltas[resource])
    ) {
      overs.push(resource);
      overUser = true;
    }
  }
  if (!overs.length) return maxCount;

  const limits = overUser ? snapshot.userLimits : snapshot.projectLimits;
  const usage = overUser ? snapshot.usage.user : snapshot.usage.project;
  const room = headroom(limits, usage, deltas);
  let allowed = room.instances;
  if (vcpus) allowed = Math.min(allowed, Math.floor(room.cores / vcpus));
  if (memoryMb) allowed = Math.min(allowed, Math.floor(room.ram / memoryMb));
  // Fewer than asked for still fit and meet min_count: create those (checked again, since the other
  // scope may allow fewer still).
  if (allowed > 0 && minCount <= allowed && allowed <= maxCount) {
    return instancesThatFit(snapshot, request, allowed);
  }
  const requested: Record<ServerResource, string> = {
    instances: minCount === maxCount ? String(minCount) : `${minCount}-${maxCount}`,
    cores: String(deltas.cores),
    ram: String(deltas.ram),
  };
  overs.sort();
  const list = (values: (string | number)[]) => values.join(', ');
  throw new QuotaExceeded(
    `Quota exceeded for ${list(overs)}: Requested ${list(overs.map((r) => requested[r]))}, ` +
      `but already used ${list(overs.map((r) => limits[r] - room[r]))} of ${list(overs.map((r) => limits[r]))} ` +
      list(overs),
  );
}

/** Nova's get_headroom: room left per resource; an unlimited cores or ram follows the instances' room. */
function headroom(limits: Limits, usage: Counts, deltas: Record<ServerResource, number>) {
  const room = {
    instances: limits.instances - usage.instances!,
    cores: limits.cores - usage.cores!,
    ram: limits.ram - usage.ram!,
  };
  for (const resource of ['cores', 'ram'] as const) {
    if (limits[resource] !== -1) continue;
    room[resource] = deltas[resource] ? (room.instances * deltas[resource]) / deltas.instances : room.instances;
  }
  return room;
}

/** Metadata items a server would have: refused (403) above the project's or the user's limit. */
export async function checkMetadataItems(db: Db, config: Config, ctx: RequestContext, count: number): Promise<void> {
  const exceeded = await exceededLimit(db, config, 'metadata_items', count, requester(ctx));
  if (exceeded !== null) throw new QuotaExceeded(metadataLimitMessage(exceeded));
}

/** One more server group for the requester's project (and user). */
export function checkServerGroupQuota(db: Db, config: Config, ctx: RequestContext, delta = 1): Promise<void> {
  return checkDeltas(db, config, { server_groups: delta }, requester(ctx), SERVER_GROUPS_MESSAGE);
}

const KEY_PAIRS_MESSAGE = 'Quota exceeded, too many key pairs.';

/**
 * One more key pair for `userId` (the owner, whom an admin may name), counted per user as Nova counts
 * them. `delta` 0 is Nova's recheck after the insert: two creates racing to the last key pair both
 * pass the first check, and the recheck refuses the one that went over.
 */
export function checkKeyPairQuota(
  db: Db,
  config: Config,
  ctx: RequestContext,
  userId: string,
  delta: 0 | 1,
): Promise<void> {
  return checkDeltas(db, config, { key_pairs: delta }, { projectId: ctx.projectId ?? '', userId }, KEY_PAIRS_MESSAGE);
}

function requester(ctx: RequestContext): UsageScope {
  return { projectId: ctx.projectId ?? '', userId: ctx.userId ?? '' };
}

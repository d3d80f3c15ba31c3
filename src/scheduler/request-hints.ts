/**
 * What the scheduler hints of a request mean in terms of hosts, read once per request: the server group
 * the `group` hint names, with how many of its members each host already runs, and the nodes running
 * the instances `same_host` / `different_host` name. Filters and weighers read these instead of asking
 * the database per host; the group's counts grow with each pick of the request, so the instances of one
 * multi-instance request see each other (Nova records each pick in the request's instance group).
 */
import type { Db } from '../common/db/database.ts';
import { nodesOfInstances } from '../objects/instances.ts';
import {
  findServerGroup,
  memberCountsByHost,
  type ServerGroup,
  type ServerGroupPolicy,
} from '../objects/server-groups.ts';
import type { AntiAffinityGuard } from '../placement/claims.ts';
import type { RequestSpec } from '../wire/messages/request-spec.ts';

export class GroupPlacement {
  constructor(
    readonly uuid: string,
    readonly policy: ServerGroupPolicy,
    /** anti-affinity: how many members one host may run (the group's max_server_per_host rule, else 1). */
    readonly maxServerPerHost: number,
    private readonly counts: Map<string, number>,
  ) {}

  /** Members on `host`, counting the picks this request made so far. */
  membersOn(host: string): number {
    return this.counts.get(host) ?? 0;
  }

  /** Whether any member runs anywhere yet (affinity places the first member freely). */
  get placed(): boolean {
    return this.counts.size > 0;
  }

  /** Records a pick of this request on `host`; `sign` -1 takes it back (the request was rolled back). */
  record(host: string, sign: 1 | -1 = 1): void {
    const count = this.membersOn(host) + sign;
    if (count > 0) this.counts.set(host, count);
    else this.counts.delete(host);
  }
}

export interface RequestHints {
  readonly group: GroupPlacement | null;
  /** `host\0node` keys of the nodes running the `same_host` instances; null without the hint. */
  readonly sameHostNodes: ReadonlySet<string> | null;
  /** Likewise for `different_host`. */
  readonly differentHostNodes: ReadonlySet<string> | null;
}

export const NO_HINTS: RequestHints = { group: null, sameHostNodes: null, differentHostNodes: null };

export function nodeKey(host: string, node: string): string {
  return `${host}\0${node}`;
}

/** A hint's values as a list (the API stores a single value as a string). */
export function hintValues(spec: RequestSpec, name: string): string[] {
  const value = spec.scheduler_hints[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Reads what the hints refer to. `instanceUuids` are the instances being scheduled: they are members
 * of their group already (the API adds them) but are not placed by this request yet, so they do not count.
 */
export async function loadRequestHints(
  db: Db,
  spec: RequestSpec,
  instanceUuids: readonly string[],
): Promise<RequestHints> {
  const [groupUuid] = hintValues(spec, 'group');
  const same = hintValues(spec, 'same_host');
  const different = hintValues(spec, 'different_host');
  if (groupUuid === undefined && !same.length && !different.length) return NO_HINTS;
  const nodesOf = async (uuids: string[]) =>
    uuids.length ? new Set((await nodesOfInstances(db, uuids)).map(([h, n]) => nodeKey(h, n))) : null;
  return {
    group: groupUuid === undefined ? null : await groupPlacement(db, groupUuid, instanceUuids),
    sameHostNodes: await nodesOf(same),
    differentHostNodes: await nodesOf(different),
  };
}

async function groupPlacement(db: Db, uuid: string, instanceUuids: readonly string[]): Promise<GroupPlacement | null> {
  // The API checked the group against the caller's project; a group deleted since constrains nothing.
  const group = await findServerGroup(db, uuid, null);
  if (!group) return null;
  const counts = await memberCountsByHost(db, uuid, instanceUuids);
  return new GroupPlacement(uuid, group.policy, perHostLimit(group), counts);
}

/** The rule a claim enforces for the request's group: only anti-affinity has one (see AntiAffinityGuard). */
export function antiAffinityGuard(group: GroupPlacement | null): AntiAffinityGuard | null {
  return group?.policy === 'anti-affinity' ? { groupUuid: group.uuid, maxPerHost: group.maxServerPerHost } : null;
}

/** The same, read for a reschedule: the conductor claims alternates without the scheduler's view. */
export async function loadAntiAffinityGuard(db: Db, spec: RequestSpec): Promise<AntiAffinityGuard | null> {
  const [groupUuid] = hintValues(spec, 'group');
  if (groupUuid === undefined) return null;
  const group = await findServerGroup(db, groupUuid, null);
  if (group?.policy !== 'anti-affinity') return null;
  return { groupUuid, maxPerHost: perHostLimit(group) };
}

/** How many members of an anti-affinity group one host may run: its max_server_per_host rule, else 1. */
function perHostLimit(group: ServerGroup): number {
  return group.rules.max_server_per_host ?? 1;
}

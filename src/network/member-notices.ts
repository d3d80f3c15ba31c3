/**
 * Telling hosts that security groups' members changed (Neutron's security_groups_member_updated): a rule
 * naming a remote group admits the addresses of that group's member ports, expanded on the hosts of the
 * ports whose groups have the rule. When a port joins or leaves a group, or its addresses change, those
 * hosts, whichever they are, must learn the group's new members: not only the port's own host.
 *
 * Each host with such a port gets one compute 1.12 security_group_members_changed cast with the groups'
 * member addresses; the host replaces its one set of each group, which its guests' rules naming the group
 * share (compute/guest-networking.ts). Changes coalesce: while one round of casts is being sent, further
 * changes gather and go in the next round, and rounds start at most every ROUND_SPACING_MS, so a storm of
 * builds in one project's `default` group (whose rules name the group itself) costs a few rounds, not one
 * per build: each round reads every member and every watching server, and each host it reaches writes
 * the groups' sets once. (Neutron's agents likewise apply member updates in their next polling loop, not
 * one by one.) Hosts older than 1.12 get the watching guests' whole NetworkInfo instead
 * (network_info_changed). Never throws: a host that misses a round learns the members with the group's
 * next round (each carries a group's whole membership), or from a build that brings a group new to it.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { UnsupportedRpcVersion } from '../common/rpc/index.ts';
import type { ComputeRpcApi, GroupMembers } from '../wire/contracts/compute.ts';
import { notifyServersChanged } from './network-info-changed.ts';
import { groupsOfPorts } from './port-change-scope.ts';
import { groupMembers } from './security-group-port-rules.ts';

const log = getLogger('network.members');

/** The least time between the starts of two rounds: how long a change may wait to be sent. */
const ROUND_SPACING_MS = 500;

/** The notices of one compute client (one per process and bus): rounds coalesce across all callers. */
const byClient = new WeakMap<ComputeRpcApi, MemberNotices>();

export function memberNotices(db: Db, compute: ComputeRpcApi): MemberNotices {
  let notices = byClient.get(compute);
  if (!notices) byClient.set(compute, (notices = new MemberNotices(db, compute)));
  return notices;
}

/** The servers, by the host they run on, with a port whose groups have a rule naming one of `groupIds` as remote group. */
export async function watchingServersByHost(db: Db, groupIds: readonly string[]): Promise<Map<string, string[]>> {
  const byHost = new Map<string, string[]>();
  if (!groupIds.length) return byHost;
  const rows = await db
    .selectFrom('security_group_rules as r')
    .innerJoin('security_group_port_bindings as b', 'b.security_group_id', 'r.security_group_id')
    .innerJoin('ports as p', 'p.id', 'b.port_id')
    .innerJoin('instances as i', 'i.uuid', 'p.device_id')
    .select(['i.host as host', 'i.uuid as server'])
    .distinct()
    .where('r.remote_group_id', 'in', [...groupIds])
    .where('p.device_owner', 'like', 'compute:%')
    .where('i.deleted', '=', 0)
    .where('i.host', 'is not', null)
    .execute();
  for (const { host, server } of rows) {
    if (host === null) continue;
    const servers = byHost.get(host);
    if (servers) servers.push(server);
    else byHost.set(host, [server]);
  }
  return byHost;
}

export class MemberNotices {
  private pending = new Set<string>();
  private pendingCtx: RequestContext | null = null;
  /** The round that will carry the pending groups (started once the round before it ends). */
  private next: Promise<void> | null = null;
  private running: Promise<void> = Promise.resolve();
  /** When the last round started (performance.now()). */
  private lastStart = -Infinity;

  constructor(
    private readonly db: Db,
    private readonly compute: ComputeRpcApi,
  ) {}

  /** The ports' groups' members changed (the ports were made, or their addresses changed). */
  async portsChanged(ctx: RequestContext, portIds: readonly string[]): Promise<void> {
    let groups: string[];
    try {
      groups = await groupsOfPorts(this.db, portIds);
    } catch (err) {
      log.warn({ ports: portIds, err: (err as Error).message }, 'could not read the groups of changed ports');
      return;
    }
    await this.groupsChanged(ctx, groups);
  }

  /** These groups' members changed; resolves once a round including them was sent. */
  groupsChanged(ctx: RequestContext, groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return Promise.resolve();
    for (const id of groupIds) this.pending.add(id);
    this.pendingCtx ??= ctx;
    if (!this.next) {
      this.next = this.running.then(async () => {
        const wait = this.lastStart + ROUND_SPACING_MS - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.lastStart = performance.now();
        // Taken when the round starts: whatever arrived while the last one ran goes with it.
        const groups = [...this.pending];
        const roundCtx = this.pendingCtx!;
        this.pending = new Set();
        this.pendingCtx = null;
        this.next = null;
        this.running = this.round(roundCtx, groups);
        await this.running;
      });
    }
    return this.next;
  }

  private async round(ctx: RequestContext, groupIds: string[]): Promise<void> {
    let hosts: Map<string, string[]>;
    let groups: GroupMembers[];
    try {
      hosts = await watchingServersByHost(this.db, groupIds);
      if (hosts.size === 0) return;
      groups = await groupMembers(this.db, groupIds);
    } catch (err) {
      log.warn({ groups: groupIds, err: (err as Error).message }, 'could not find whom to tell of changed members');
      return;
    }
    await Promise.all(
      [...hosts].map(async ([host, servers]) => {
        try {
          await this.compute.securityGroupMembersChanged(ctx, host, groups);
        } catch (err) {
          if (err instanceof UnsupportedRpcVersion) {
            await notifyServersChanged(this.db, this.compute, ctx, servers);
            return;
          }
          log.warn({ host, groups: groupIds, err: (err as Error).message }, 'could not tell a host of changed members');
        }
      }),
    );
  }
}

/**
 * The compute manager's side of guest networking: it keeps the host's datapath (network/network-driver.ts)
 * and its per-guest record of interfaces (network/vif-cache.ts) in step with the guests the virt driver
 * runs. The order is always the datapath around the guest: ports are plugged before a guest that opens
 * them starts or gets a NIC, and unplugged only once the guest (or its NIC) is gone, since qemu opens a tap
 * by name and a tap removed under a running guest cuts it off.
 *
 * The record comes first when ports are added and last when they go, so that a crash in between leaves
 * the record naming more than the datapath has, never less: the next unplug or reconcile then removes
 * what is left. Changes of one guest run one after another (a change cast may arrive while an attach is
 * under way); different guests do not wait for each other.
 *
 * A rule naming a remote group is recorded with the group's id and no addresses: the group's members are
 * one set per group on this host (network/member-sets.ts), shared by every guest that names it and
 * applied by the datapath, so that a change of a group's members costs this host one set written and
 * one datapath update, not a record rewritten and a plug for every watching guest (which, with every
 * guest in one `default` group, grew with the square of the group's size).
 *
 * Senders of compute 1.14 and later send such a rule with the group's id alone (Vif 1.2), so a build
 * no longer carries the group's members either. A host that follows the group already (it keeps the set
 * because a guest recorded here names it, so the network service's member rounds reach it) applies its
 * set; one that does not asks the conductor for the group's members (`AskMembers`) before it plugs, so
 * the guest's rules are right from its first packet. Asks for one group run once at a time, shared by
 * the plugs waiting for them, and a member round that reaches the host after an ask was sent wins over
 * its answer. A failed ask fails the plug: never a guest plugged with an empty set by mistake.
 */
import { join } from 'node:path';
import { adminContext } from '../common/context.ts';
import { getLogger } from '../common/log/logger.ts';
import type { ConductorRpcApi } from '../wire/contracts/conductor.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import type { NetworkInfo, Vif } from '../wire/messages/network-info.ts';
import type { GroupMembers } from '../wire/contracts/compute.ts';
import { expandRemoteGroups, MemberSets, remoteGroupsOf, withoutMembers } from './network/member-sets.ts';
import type { GuestPorts, NetworkDriver } from './network/network-driver.ts';
import type { VifCache } from './network/vif-cache.ts';
import type { VirtDriver } from './virt/driver.ts';
import { InstanceQueue } from './instance-queue.ts';

const log = getLogger('compute.network');

/** Asks for the members of security groups, one entry per id (the conductor's security_group_members). */
export type AskMembers = (groupIds: readonly string[]) => Promise<GroupMembers[]>;

/** Asking the conductor (conductor 1.9 security_group_members), as the compute service does. */
export function askConductor(conductor: Pick<ConductorRpcApi, 'securityGroupMembers'>): AskMembers {
  return (groupIds) => conductor.securityGroupMembers(adminContext(), groupIds);
}

/** A host built without a way to ask (tests of other parts): its plugs of unexpanded rules fail, saying why. */
const cannotAsk: AskMembers = () =>
  Promise.reject(new Error('this host was given no conductor to ask for security group members'));

/** The members of security groups a host could not learn: the plug naming them fails. */
export class MembersUnavailable extends Error {}

export class GuestNetworking {
  /** Changes of one guest's interfaces run one after another. */
  private readonly queue = new InstanceQueue();
  /**
   * The last member set security_group_members_changed brought for each group, numbered in order of
   * arrival: a build's interfaces were expanded before it was sent, so a group's members that reach this
   * host after the build (its `memberMark`) win over the ones it carries. One entry per group ever named,
   * replaced by the next.
   */
  private readonly receivedMembers = new Map<string, { arrival: number; members: GroupMembers }>();
  private arrivals = 0;
  /** Group memberships received and not yet applied, by group (membersChanged). */
  private pendingMembers = new Map<string, GroupMembers>();
  /** The round that will apply them, started once the round before it ends. */
  private nextMembersRound: Promise<string[]> | null = null;
  private membersRound: Promise<unknown> = Promise.resolve();
  /** The recorded guests naming each remote group: a group's set is kept while one does. */
  private readonly watchers = new Map<string, Set<string>>();
  /** The remote groups each recorded guest names. */
  private readonly named = new Map<string, Set<string>>();
  private loaded: Promise<void> | null = null;
  /** The member sets of the remote groups this host's recorded guests name. */
  readonly sets: MemberSets;
  /** The asks under way, by group: the arrival count when each was sent, and its answer. */
  private readonly asks = new Map<string, { sent: number; answer: Promise<GroupMembers> }>();

  constructor(
    readonly datapath: NetworkDriver,
    readonly cache: VifCache,
    sets?: MemberSets,
    /** How this host learns the members of a group it does not follow (compute/manager.ts: the conductor). */
    private readonly askMembers: AskMembers = cannotAsk,
  ) {
    this.sets = sets ?? new MemberSets(join(cache.directory, 'groups'));
  }

  /**
   * Before the first use: the stored sets, which guests name them, and the datapath told the sets (so a
   * reconcile after a restart rebuilds the rules from them).
   */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      await this.sets.load();
      for (const uuid of await this.cache.guests()) this.watch(uuid, (await this.cache.read(uuid)) ?? []);
      const stored = this.sets.all();
      if (stored.length > 0) await this.datapath.groupMembers(stored);
    })().catch((err: unknown) => {
      this.loaded = null;
      throw err;
    });
    return this.loaded;
  }

  /** The guest's interfaces as this host recorded them ([] if none), remote groups expanded to their sets. */
  async interfacesOf(uuid: string): Promise<NetworkInfo> {
    await this.load();
    return (await this.recorded(uuid)).map((vif) => expandRemoteGroups(vif, (id) => this.sets.get(id)));
  }

  /** The record as stored: rules naming a remote group carry no addresses. */
  private async recorded(uuid: string): Promise<NetworkInfo> {
    return (await this.cache.read(uuid)) ?? [];
  }

  /**
   * Where the member changes received so far end: taken when a build arrives, and given to its plugGuest,
   * so that the members received after it win over the ones the build carries.
   */
  memberMark(): number {
    return this.arrivals;
  }

  /**
   * Before a new guest starts with `networkInfo` (a build, an unshelve, a guest built anew): records its
   * interfaces and plugs them, so its taps exist when qemu opens them. The remote groups its rules name
   * get this host's set of each (see `adopt`); `membersSince` is a `memberMark` taken when the request
   * carrying `networkInfo` arrived (by default: now).
   */
  plugGuest(instance: InstancePayload, networkInfo: NetworkInfo, membersSince?: number): Promise<void> {
    const uuid = instance.uuid;
    const mark = membersSince ?? this.arrivals;
    return this.queue.run(uuid, async () => {
      await this.load();
      await this.adopt(uuid, networkInfo, mark);
      await this.record(uuid, networkInfo);
      const vifs = networkInfo.map(withoutMembers);
      if (vifs.length > 0) await this.datapath.plug(uuid, vifs, extraSpecs(instance), instance.project_id);
    });
  }

  /**
   * The member sets of the remote groups `vifs` name become this host's (and the datapath's): as the
   * sender expanded them, unless the host knows better: members received after `mark` win, and a group
   * another recorded guest here names already is followed here (its member changes reach this host), so
   * its set stays. A rule that names its group without addresses (Vif 1.2) takes the set the host
   * follows (this guest's own naming of it counts), else the conductor's answer to an ask (members
   * received after the ask was sent win over it). From the last pause on, runs without one up to the
   * datapath's update, so the sets change in the order the datapath is told.
   */
  private async adopt(uuid: string, vifs: readonly Vif[], mark: number): Promise<void> {
    const groups = remoteGroupsOf(vifs);
    const before = new Set(this.named.get(uuid) ?? []);
    const followed = (id: string, self: boolean) =>
      this.sets.get(id) !== undefined &&
      ((self && before.has(id)) || [...(this.watchers.get(id) ?? [])].some((other) => other !== uuid));
    const unknown = [...groups].filter(
      (id) =>
        !((this.receivedMembers.get(id)?.arrival ?? -1) > mark) &&
        !followed(id, true) &&
        carriedMembers(vifs, id, undefined) === undefined,
    );
    // Noted as named by the guest before any pause: a round that runs before the record is written (or
    // while an ask is out) must find the group watched, or it would skip a change this guest's rules need.
    for (const id of groups) {
      let watching = this.watchers.get(id);
      if (!watching) this.watchers.set(id, (watching = new Set()));
      watching.add(uuid);
      const named = this.named.get(uuid) ?? new Set<string>();
      this.named.set(uuid, named.add(id));
    }
    let answers = new Map<string, { sent: number; members: GroupMembers }>();
    if (unknown.length > 0) {
      try {
        answers = await this.ask(unknown);
      } catch (err) {
        await this.unwatch(uuid, groups, before);
        throw new MembersUnavailable(
          `Cannot plug the ports of instance ${uuid}: its security group rules name remote groups ` +
            `(${unknown.join(', ')}) whose members this host does not have, and asking the conductor for ` +
            `them failed (${(err as Error).message}); without them the rules would admit nobody. Check ` +
            `that the conductors run a release with security_group_members (conductor 1.9) and are reachable.`,
        );
      }
    }
    const changed: GroupMembers[] = [];
    const written: Promise<void>[] = [];
    for (const id of groups) {
      const received = this.receivedMembers.get(id);
      const answer = answers.get(id);
      let members: GroupMembers | undefined;
      if (answer) members = received && received.arrival > answer.sent ? received.members : answer.members;
      else if (received && received.arrival > mark) members = received.members;
      else if (followed(id, false)) continue;
      else members = carriedMembers(vifs, id, this.sets.get(id));
      if (!members) continue;
      const result = this.sets.set(members);
      if (!result.changed) continue;
      changed.push(members);
      written.push(result.written);
    }
    if (changed.length > 0) written.push(this.datapath.groupMembers(changed));
    await Promise.all(written);
  }

  /**
   * The conductor's answer for each group, with the arrival count when its ask was sent. An ask already
   * out for a group is shared; the rest go in one call.
   */
  private async ask(ids: readonly string[]): Promise<Map<string, { sent: number; members: GroupMembers }>> {
    const missing = ids.filter((id) => !this.asks.has(id));
    if (missing.length > 0) {
      const sent = this.arrivals;
      const reply = this.askMembers(missing).then((groups) => new Map(groups.map((g) => [g.id, g])));
      for (const id of missing) {
        const answer = reply.then((groups) => {
          const members = groups.get(id);
          if (!members) throw new Error(`the conductor's answer lacks group ${id}`);
          return members;
        });
        const entry = { sent, answer };
        this.asks.set(id, entry);
        // Forgotten once answered: a later plug of a group no guest here follows any more asks again.
        void answer.then(
          () => this.asks.get(id) === entry && this.asks.delete(id),
          () => this.asks.get(id) === entry && this.asks.delete(id),
        );
      }
      log.info(
        { groups: missing },
        'asking the conductor for the members of security groups this host does not follow',
      );
    }
    // Taken before any pause: an entry is forgotten once answered.
    const entries = ids.map((id) => [id, this.asks.get(id)!] as const);
    const answers = new Map<string, { sent: number; members: GroupMembers }>();
    for (const [id, entry] of entries) answers.set(id, { sent: entry.sent, members: await entry.answer });
    return answers;
  }

  /** Takes back the naming of `groups` by the guest that `adopt` noted (a failed ask): only `before` stays. */
  private async unwatch(uuid: string, groups: ReadonlySet<string>, before: ReadonlySet<string>): Promise<void> {
    const orphaned: string[] = [];
    for (const id of groups) {
      if (!before.has(id) && this.dropWatcher(uuid, id)) orphaned.push(id);
    }
    if (before.size > 0) this.named.set(uuid, new Set(before));
    else this.named.delete(uuid);
    await Promise.all(orphaned.map((id) => this.sets.delete(id)));
  }

  /**
   * Records the guest's interfaces without the remote groups' addresses, and which groups it names: a
   * group no recorded guest names any more loses its set.
   */
  private async record(uuid: string, vifs: NetworkInfo): Promise<void> {
    const orphaned = this.watch(uuid, vifs);
    await this.cache.write(uuid, vifs.map(withoutMembers));
    await Promise.all(orphaned.map((id) => this.sets.delete(id)));
  }

  /** The guest no longer names `group`; answers whether no guest here names it now. */
  private dropWatcher(uuid: string, group: string): boolean {
    const watching = this.watchers.get(group);
    watching?.delete(uuid);
    if (watching?.size !== 0) return false;
    this.watchers.delete(group);
    return true;
  }

  /** Notes the groups the guest's interfaces name; answers the groups no guest names any more. */
  private watch(uuid: string, vifs: readonly Vif[]): string[] {
    const next = remoteGroupsOf(vifs);
    const orphaned: string[] = [];
    for (const group of this.named.get(uuid) ?? []) {
      if (!next.has(group) && this.dropWatcher(uuid, group)) orphaned.push(group);
    }
    for (const group of next) {
      let watching = this.watchers.get(group);
      if (!watching) this.watchers.set(group, (watching = new Set()));
      watching.add(uuid);
    }
    if (next.size > 0) this.named.set(uuid, next);
    else this.named.delete(uuid);
    return orphaned;
  }

  /**
   * After the guest was destroyed: unplugs every port recorded for it. `forget` drops the record too (a
   * deleted guest); a shelve offload keeps it, so that an unshelve here without interfaces from the
   * conductor gives the guest the ones it had.
   */
  unplugGuest(uuid: string, forget: boolean): Promise<void> {
    return this.queue.run(uuid, async () => {
      await this.load();
      const vifs = await this.recorded(uuid);
      if (vifs.length > 0) await this.datapath.unplug(uuid, vifs);
      if (forget) await this.record(uuid, []);
    });
  }

  /**
   * At compute start: makes the datapath carry exactly the recorded ports of the guests the conductor says
   * are on this host, with their flavors' extra specs, their rules naming remote groups applied from the
   * stored sets. Records of other guests (deleted or moved while the service was down, or offloaded) are
   * dropped, with the sets no guest left names, and the driver removes their leftovers.
   */
  async reconcile(instances: readonly InstancePayload[]): Promise<void> {
    await this.load();
    const onHost = new Map(instances.map((instance) => [instance.uuid, instance]));
    for (const uuid of await this.cache.guests()) {
      if (!onHost.has(uuid)) {
        log.info({ instance: uuid }, 'dropping the recorded interfaces of a guest no longer on this host');
        await this.record(uuid, []);
      }
    }
    // Sets a crash left behind their last guest's record.
    for (const id of this.sets.ids()) if (!this.watchers.has(id)) await this.sets.delete(id);
    const wanted: GuestPorts[] = [];
    for (const instance of instances) {
      const vifs = await this.recorded(instance.uuid);
      if (vifs.length > 0)
        wanted.push({
          instanceUuid: instance.uuid,
          projectId: instance.project_id,
          vifs,
          extraSpecs: extraSpecs(instance),
        });
    }
    await this.datapath.reconcile(wanted);
    log.info({ guests: wanted.length, ports: wanted.reduce((n, g) => n + g.vifs.length, 0) }, 'datapath reconciled');
  }

  /**
   * attach_interface: the port is plugged, then the guest gets its NIC, then it is recorded. If the
   * guest refuses, a port that was not the guest's already is unplugged again and the error raised.
   */
  attach(driver: VirtDriver, instance: InstancePayload, vif: Vif): Promise<void> {
    const uuid = instance.uuid;
    const mark = this.arrivals;
    return this.queue.run(uuid, async () => {
      await this.load();
      const current = await this.recorded(uuid);
      const known = current.some((v) => v.id === vif.id);
      await this.adopt(uuid, [vif], mark);
      await this.datapath.plug(uuid, [withoutMembers(vif)], extraSpecs(instance), instance.project_id);
      try {
        await driver.attachInterface(uuid, vif);
      } catch (err) {
        if (!known) {
          await Promise.all(this.watch(uuid, current).map((id) => this.sets.delete(id)));
          await this.datapath
            .unplug(uuid, [vif])
            .catch((e: Error) =>
              log.warn({ instance: uuid, port: vif.id, err: e.message }, 'could not unplug a port the guest refused'),
            );
        }
        throw err;
      }
      await this.record(uuid, known ? current.map((v) => (v.id === vif.id ? vif : v)) : [...current, vif]);
    });
  }

  /**
   * detach_interface: the guest lets go of the NIC first, then the port is unplugged and forgotten. A
   * port the guest does not have is still unplugged (a detach repeated after a crash finishes it).
   */
  detach(driver: VirtDriver, instance: InstancePayload, vif: Vif): Promise<void> {
    const uuid = instance.uuid;
    return this.queue.run(uuid, async () => {
      await this.load();
      await driver.detachInterface(uuid, vif);
      await this.datapath.unplug(uuid, [vif]);
      const current = await this.recorded(uuid);
      await this.record(
        uuid,
        current.filter((v) => v.id !== vif.id),
      );
    });
  }

  /**
   * network_info_changed: the ports of the guest changed in the network service (security group rules,
   * floating IPs, fixed IPs). The ports this host has for the guest are plugged again as they now are
   * (plug replaces a port's state) and recorded. Which ports the guest has is only changed by attach and
   * detach: a change cast may have been written before an attach or a detach that reaches this host first,
   * so a port it names that the guest lacks is not added, and one it lacks is not removed.
   */
  changed(instance: InstancePayload, networkInfo: NetworkInfo): Promise<void> {
    const uuid = instance.uuid;
    const mark = this.arrivals;
    return this.queue.run(uuid, async () => {
      await this.load();
      const current = await this.recorded(uuid);
      const updates = new Map(networkInfo.map((vif) => [vif.id, vif]));
      const next = current.map((vif) => updates.get(vif.id) ?? vif);
      const ignored = networkInfo.filter((vif) => !current.some((v) => v.id === vif.id)).map((vif) => vif.id);
      if (ignored.length > 0)
        log.info({ instance: uuid, ports: ignored }, 'changed ports the guest does not have here');
      const replugged = next.filter((vif) => updates.has(vif.id));
      if (replugged.length === 0) return;
      await this.adopt(uuid, replugged, mark);
      await this.record(uuid, next);
      await this.datapath.plug(uuid, replugged.map(withoutMembers), extraSpecs(instance), instance.project_id);
    });
  }

  /**
   * security_group_members_changed: the groups' members are now these addresses. The set of each group a
   * recorded guest here names is written and the datapath told (a group none names is only kept in
   * memory, for a build on its way here: see `adopt`). Answers the guests whose rules now admit other
   * addresses (those naming the groups this round changed).
   *
   * Each change carries a group's whole membership, so only the latest of a group matters: changes that
   * arrive while a round is being applied gather and go in the next round. A change is numbered (for
   * `memberMark`) as it arrives, not when its round runs.
   */
  membersChanged(groups: readonly GroupMembers[]): Promise<string[]> {
    const arrival = ++this.arrivals;
    for (const group of groups) {
      this.receivedMembers.set(group.id, { arrival, members: group });
      this.pendingMembers.set(group.id, group);
    }
    if (!this.nextMembersRound) {
      this.nextMembersRound = this.membersRound.then(() => {
        // Taken when the round starts: whatever arrived while the last one ran goes with it.
        const batch = this.pendingMembers;
        this.pendingMembers = new Map();
        this.nextMembersRound = null;
        const round = this.applyMembers(batch);
        this.membersRound = round.catch(() => undefined);
        return round;
      });
    }
    return this.nextMembersRound;
  }

  private async applyMembers(members: ReadonlyMap<string, GroupMembers>): Promise<string[]> {
    await this.load();
    const changed: GroupMembers[] = [];
    const written: Promise<void>[] = [];
    for (const group of members.values()) {
      if (!this.watchers.has(group.id)) continue;
      const result = this.sets.set(group);
      if (!result.changed) continue;
      changed.push(group);
      written.push(result.written);
    }
    if (changed.length === 0) return [];
    // Told at once, before any pause: the datapath learns the sets in the order they changed.
    await Promise.all([this.datapath.groupMembers(changed), ...written]);
    return [...new Set(changed.flatMap((group) => [...(this.watchers.get(group.id) ?? [])]))];
  }
}

/**
 * The members of group `id` as the sender of `vifs` expanded them (the addresses of the first rule of
 * each family naming it); a family no rule names keeps `current`'s. Undefined if no rule carries any.
 */
function carriedMembers(vifs: readonly Vif[], id: string, current: GroupMembers | undefined): GroupMembers | undefined {
  let ipv4: string[] | undefined;
  let ipv6: string[] | undefined;
  for (const vif of vifs) {
    for (const rule of vif.security_group_rules) {
      if (rule.remote_group_id !== id || rule.remote_prefixes === null) continue;
      if (rule.ethertype === 'IPv6') ipv6 ??= rule.remote_prefixes;
      else ipv4 ??= rule.remote_prefixes;
    }
  }
  if (ipv4 === undefined && ipv6 === undefined) return undefined;
  return { id, ipv4: ipv4 ?? current?.ipv4 ?? [], ipv6: ipv6 ?? current?.ipv6 ?? [] };
}

/** The flavor's extra specs: the datapath reads the `quota:vif_*` bandwidth limits from them. */
function extraSpecs(instance: InstancePayload): Readonly<Record<string, string>> {
  return instance.flavor.extra_specs;
}

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
 */
import { getLogger } from '../common/log/logger.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import type { NetworkInfo, Vif } from '../wire/messages/network-info.ts';
import type { GroupMembers } from '../wire/contracts/compute.ts';
import type { GuestPorts, NetworkDriver } from './network/network-driver.ts';
import type { VifCache } from './network/vif-cache.ts';
import type { VirtDriver } from './virt/driver.ts';
import { InstanceQueue } from './instance-queue.ts';

const log = getLogger('compute.network');

export class GuestNetworking {
  /** Changes of one guest's interfaces run one after another. */
  private readonly queue = new InstanceQueue();
  /**
   * The last member set security_group_members_changed brought for each group, numbered in order of
   * arrival: a build's interfaces were expanded before it was sent, so member changes that reach this
   * host after the build (its `memberMark`) and before its ports are recorded are applied to them. One
   * entry per group ever named, replaced by the next.
   */
  private readonly receivedMembers = new Map<string, { arrival: number; members: GroupMembers }>();
  private arrivals = 0;
  /** Guests whose plugGuest is under way (a member change in that time must wait for it, then apply). */
  private readonly plugging = new Map<string, number>();
  /** Group memberships received and not yet applied, by group (membersChanged). */
  private pendingMembers = new Map<string, GroupMembers>();
  /** The round that will apply them, started once the round before it ends. */
  private nextMembersRound: Promise<string[]> | null = null;
  private membersRound: Promise<unknown> = Promise.resolve();
  /**
   * Each guest's payload as last handed to this class (build, move, unshelve, rebuild, attach, change,
   * reconcile): what a member round needs of it (the flavor's bandwidth limits, the project) without
   * asking the conductor for every instance on the host. A guest's flavor changes only through a plug
   * with its new payload (a resize finishing or reverting here), so the one kept is the current one.
   */
  private readonly payloads = new Map<string, InstancePayload>();

  constructor(
    readonly datapath: NetworkDriver,
    readonly cache: VifCache,
  ) {}

  /** The guest's interfaces as this host recorded them ([] if none). */
  async interfacesOf(uuid: string): Promise<NetworkInfo> {
    return (await this.cache.read(uuid)) ?? [];
  }

  /**
   * Where the member changes received so far end: taken when a build arrives, and given to its plugGuest,
   * which then applies the member changes that came after it.
   */
  memberMark(): number {
    return this.arrivals;
  }

  /**
   * Before a new guest starts with `networkInfo` (a build, an unshelve, a guest built anew): records its
   * interfaces and plugs them, so its taps exist when qemu opens them. With `membersSince` (a
   * `memberMark` taken when the request carrying `networkInfo` arrived), the member changes received
   * since then replace the members its rules were expanded to when the request was sent: the casts of
   * those changes found no record of this guest to apply them to.
   */
  plugGuest(instance: InstancePayload, networkInfo: NetworkInfo, membersSince?: number): Promise<void> {
    const uuid = instance.uuid;
    this.payloads.set(uuid, instance);
    this.plugging.set(uuid, (this.plugging.get(uuid) ?? 0) + 1);
    return this.queue
      .run(uuid, async () => {
        const later = membersSince === undefined ? new Map<string, GroupMembers>() : this.membersSince(membersSince);
        const vifs = networkInfo.map((vif) => expandRemoteGroups(vif, later));
        await this.cache.write(uuid, vifs);
        if (vifs.length > 0) await this.datapath.plug(uuid, vifs, extraSpecs(instance), instance.project_id);
      })
      .finally(() => {
        const left = (this.plugging.get(uuid) ?? 1) - 1;
        if (left > 0) this.plugging.set(uuid, left);
        else this.plugging.delete(uuid);
      });
  }

  private membersSince(mark: number): Map<string, GroupMembers> {
    const later = new Map<string, GroupMembers>();
    for (const [id, { arrival, members }] of this.receivedMembers) if (arrival > mark) later.set(id, members);
    return later;
  }

  /**
   * After the guest was destroyed: unplugs every port recorded for it. `forget` drops the record too (a
   * deleted guest); a shelve offload keeps it, so that an unshelve here without interfaces from the
   * conductor gives the guest the ones it had.
   */
  unplugGuest(uuid: string, forget: boolean): Promise<void> {
    // Not running here any more: a member round asks the conductor about a record that stays (offloaded).
    this.payloads.delete(uuid);
    return this.queue.run(uuid, async () => {
      const vifs = await this.interfacesOf(uuid);
      if (vifs.length > 0) await this.datapath.unplug(uuid, vifs);
      if (forget) await this.cache.remove(uuid);
    });
  }

  /**
   * At compute start: makes the datapath carry exactly the recorded ports of the guests the conductor says
   * are on this host, with their flavors' extra specs. Records of other guests (deleted or moved while the
   * service was down, or offloaded) are dropped, and the driver removes their leftovers.
   */
  async reconcile(instances: readonly InstancePayload[]): Promise<void> {
    const onHost = new Map(instances.map((instance) => [instance.uuid, instance]));
    for (const instance of instances) this.payloads.set(instance.uuid, instance);
    for (const uuid of await this.cache.guests()) {
      if (!onHost.has(uuid)) {
        log.info({ instance: uuid }, 'dropping the recorded interfaces of a guest no longer on this host');
        await this.cache.remove(uuid);
      }
    }
    const wanted: GuestPorts[] = [];
    for (const instance of instances) {
      const vifs = await this.interfacesOf(instance.uuid);
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
    this.payloads.set(uuid, instance);
    return this.queue.run(uuid, async () => {
      const current = await this.interfacesOf(uuid);
      const known = current.some((v) => v.id === vif.id);
      await this.datapath.plug(uuid, [vif], extraSpecs(instance), instance.project_id);
      try {
        await driver.attachInterface(uuid, vif);
      } catch (err) {
        if (!known) {
          await this.datapath
            .unplug(uuid, [vif])
            .catch((e: Error) =>
              log.warn({ instance: uuid, port: vif.id, err: e.message }, 'could not unplug a port the guest refused'),
            );
        }
        throw err;
      }
      await this.cache.write(uuid, known ? current.map((v) => (v.id === vif.id ? vif : v)) : [...current, vif]);
    });
  }

  /**
   * detach_interface: the guest lets go of the NIC first, then the port is unplugged and forgotten. A
   * port the guest does not have is still unplugged (a detach repeated after a crash finishes it).
   */
  detach(driver: VirtDriver, instance: InstancePayload, vif: Vif): Promise<void> {
    const uuid = instance.uuid;
    return this.queue.run(uuid, async () => {
      await driver.detachInterface(uuid, vif);
      await this.datapath.unplug(uuid, [vif]);
      const current = await this.interfacesOf(uuid);
      await this.cache.write(
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
    this.payloads.set(uuid, instance);
    return this.queue.run(uuid, async () => {
      const current = await this.interfacesOf(uuid);
      const updates = new Map(networkInfo.map((vif) => [vif.id, vif]));
      const next = current.map((vif) => updates.get(vif.id) ?? vif);
      const ignored = networkInfo.filter((vif) => !current.some((v) => v.id === vif.id)).map((vif) => vif.id);
      if (ignored.length > 0)
        log.info({ instance: uuid, ports: ignored }, 'changed ports the guest does not have here');
      const replugged = next.filter((vif) => updates.has(vif.id));
      if (replugged.length === 0) return;
      await this.cache.write(uuid, next);
      await this.datapath.plug(uuid, replugged, extraSpecs(instance), instance.project_id);
    });
  }

  /**
   * security_group_members_changed: the groups' members are now these addresses. Each recorded guest with
   * a rule naming one of them as remote group gets the rule expanded to them, and its changed ports
   * plugged again (`instances` answers the payloads of those guests, for their flavors' bandwidth limits);
   * so does a guest being plugged now, once it is recorded. A build that has not reached its plug yet
   * applies them itself (`plugGuest`'s `membersSince`). Answers the guests changed (by the round that
   * applied these groups).
   *
   * Each change carries a group's whole membership, so only the latest of a group matters: changes that
   * arrive while a round is being applied gather and go in the next round, a storm of builds in one
   * group costs a few rounds here (each reading every guest's record and the host's instances), not one
   * per build. A change is numbered (for `membersSince`) as it arrives, not when its round runs.
   */
  membersChanged(
    groups: readonly GroupMembers[],
    instances: () => Promise<readonly InstancePayload[]>,
  ): Promise<string[]> {
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
        const round = this.applyMembers(batch, instances);
        this.membersRound = round.catch(() => undefined);
        return round;
      });
    }
    return this.nextMembersRound;
  }

  private async applyMembers(
    members: ReadonlyMap<string, GroupMembers>,
    instances: () => Promise<readonly InstancePayload[]>,
  ): Promise<string[]> {
    // Taken before the records are read: a guest whose plug ends meanwhile is then in one or the other.
    const touched = [...this.plugging.keys()];
    for (const uuid of await this.cache.guests()) {
      if (touched.includes(uuid)) continue;
      const vifs = await this.interfacesOf(uuid);
      if (vifs.some((vif) => expandRemoteGroups(vif, members) !== vif)) touched.push(uuid);
    }
    if (touched.length === 0) return [];
    // The conductor is asked only when a guest is not known running here (a record kept after an offload).
    const payloads = touched.every((uuid) => this.payloads.has(uuid))
      ? this.payloads
      : new Map((await instances()).map((i) => [i.uuid, i]));
    const changed: string[] = [];
    await Promise.all(
      touched.map((uuid) =>
        this.queue.run(uuid, async () => {
          const instance = payloads.get(uuid);
          if (!instance) return; // Gone from this host meanwhile: its record goes with it.
          // Read again in the guest's turn: an attach or change may have run since.
          const current = await this.interfacesOf(uuid);
          const next = current.map((vif) => expandRemoteGroups(vif, members));
          const replugged = next.filter((vif, i) => vif !== current[i]);
          if (replugged.length === 0) return;
          await this.cache.write(uuid, next);
          await this.datapath.plug(uuid, replugged, extraSpecs(instance), instance.project_id);
          changed.push(uuid);
        }),
      ),
    );
    return changed;
  }
}

/** The VIF with its rules naming a group of `members` expanded to them; the same object if none changes. */
function expandRemoteGroups(vif: Vif, members: ReadonlyMap<string, GroupMembers>): Vif {
  let changed = false;
  const rules = vif.security_group_rules.map((rule) => {
    const group = rule.remote_group_id === undefined ? undefined : members.get(rule.remote_group_id);
    if (!group) return rule;
    const prefixes = rule.ethertype === 'IPv6' ? group.ipv6 : group.ipv4;
    const current = rule.remote_prefixes ?? [];
    if (current.length === prefixes.length && current.every((p, i) => p === prefixes[i])) return rule;
    changed = true;
    return { ...rule, remote_prefixes: [...prefixes] };
  });
  return changed ? { ...vif, security_group_rules: rules } : vif;
}

/** The flavor's extra specs: the datapath reads the `quota:vif_*` bandwidth limits from them. */
function extraSpecs(instance: InstancePayload): Readonly<Record<string, string>> {
  return instance.flavor.extra_specs;
}

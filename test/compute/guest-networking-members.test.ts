/**
 * security_group_members_changed on a host (GuestNetworking.membersChanged): the host keeps one member
 * set per remote group, shared by every guest whose rules name it. A change of the group's members
 * writes that one set and tells the datapath once, whatever the number of watching guests; the guests'
 * records keep the rule's group id without its addresses; a restart rebuilds the rules from the stored
 * sets; changes that arrive while one is being applied are applied together, the latest winning.
 * Builds whose rules name a group without its addresses (Vif 1.2): a host without the group's set asks
 * the conductor once, before it plugs; one that follows the group asks nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { GuestNetworking, MembersUnavailable, type AskMembers } from '../../src/compute/guest-networking.ts';
import type { GuestPorts, NetworkDriver } from '../../src/compute/network/network-driver.ts';
import type { VirtDriver } from '../../src/compute/virt/driver.ts';
import { VifCache } from '../../src/compute/network/vif-cache.ts';
import type { GroupMembers } from '../../src/wire/contracts/compute.ts';
import type { Vif } from '../../src/wire/messages/network-info.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { namingVif, watchingVif } from '../helpers/vif.ts';

const GROUP = 'group-1';
const OTHER = 'group-2';
const UUIDS = [
  '0c000000-0000-4000-8000-00000000000c',
  '0d000000-0000-4000-8000-00000000000d',
  '0e000000-0000-4000-8000-00000000000e',
];

class CountingDatapath implements NetworkDriver {
  plugs: Vif[][] = [];
  told: GroupMembers[][] = [];
  reconciled: GuestPorts[][] = [];
  /** What was told and plugged, in order. */
  calls: string[] = [];
  plug(_uuid: string, vifs: readonly Vif[]): Promise<void> {
    this.plugs.push([...vifs]);
    this.calls.push('plug');
    return Promise.resolve();
  }
  unplug(): Promise<void> {
    return Promise.resolve();
  }
  reconcile(wanted: readonly GuestPorts[]): Promise<void> {
    this.reconciled.push([...wanted]);
    this.calls.push('reconcile');
    return Promise.resolve();
  }
  groupMembers(groups: readonly GroupMembers[]): Promise<void> {
    this.told.push([...groups]);
    this.calls.push(`members ${groups.map((g) => g.id).join(',')}`);
    return Promise.resolve();
  }
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stratus-members-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const members = (...ipv4: string[]) => [{ id: GROUP, ipv4, ipv6: [] }];
const storedSet = async (id: string) =>
  JSON.parse(await readFile(join(directory, 'groups', `${id}.json`), 'utf8')) as GroupMembers;
const ruleOf = (vifs: readonly Vif[]) => vifs[0]!.security_group_rules[0]!;

describe('compute: security group member sets on a host', () => {
  it('a member round writes the group set once and tells the datapath once, not each watching guest', async () => {
    const datapath = new CountingDatapath();
    const cache = new VifCache(directory);
    const networking = new GuestNetworking(datapath, cache);
    for (const uuid of UUIDS) await networking.plugGuest(instancePayload(uuid), [watchingVif(GROUP, ['10.0.0.1/32'])]);
    assert.deepEqual(datapath.calls.slice(0, 2), [`members ${GROUP}`, 'plug'], 'the set is told before the plug');
    // The records keep the group's id, not its addresses.
    for (const uuid of UUIDS) {
      const recorded = JSON.parse(await readFile(join(directory, `${uuid}.json`), 'utf8')) as Vif[];
      assert.deepEqual(ruleOf(recorded).remote_prefixes, []);
      assert.equal(ruleOf(recorded).remote_group_id, GROUP);
    }
    datapath.plugs = [];
    datapath.told = [];
    let recordWrites = 0;
    const write = cache.write.bind(cache);
    cache.write = (uuid, vifs) => {
      recordWrites++;
      return write(uuid, vifs);
    };

    const first = networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32'));
    // The first round is under way (it starts on the next microtask): the next two wait for it.
    await new Promise((resolve) => setImmediate(resolve));
    const rounds = await Promise.all([
      first,
      networking.membersChanged(members('10.0.0.1/32', '10.0.0.3/32')),
      networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32')),
    ]);
    for (const changed of rounds) assert.deepEqual([...changed].sort(), [...UUIDS].sort());
    assert.equal(recordWrites, 0, 'no guest record rewritten');
    assert.equal(datapath.plugs.length, 0, 'no guest plugged again');
    assert.equal(datapath.told.length, 2, 'the first change alone, then the latest of the two that came meanwhile');
    assert.deepEqual(datapath.told[1], members('10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32'));
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32']);
    for (const uuid of UUIDS) {
      assert.deepEqual(ruleOf(await networking.interfacesOf(uuid)).remote_prefixes, [
        '10.0.0.1/32',
        '10.0.0.2/32',
        '10.0.0.3/32',
      ]);
    }
    // A change that changes nothing tells nothing; one of a group no guest here names keeps no set.
    assert.deepEqual(await networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32')), []);
    assert.deepEqual(await networking.membersChanged([{ id: OTHER, ipv4: ['10.0.0.9/32'], ipv6: [] }]), []);
    assert.equal(datapath.told.length, 2);
    assert.deepEqual((await readdir(join(directory, 'groups'))).sort(), [`${GROUP}.json`]);
  });

  it('a restart rebuilds the rules from the stored sets; a set no guest names any more goes', async () => {
    const first = new GuestNetworking(new CountingDatapath(), new VifCache(directory));
    await first.plugGuest(instancePayload(UUIDS[0]!), [watchingVif(GROUP, ['10.0.0.1/32'])]);
    await first.plugGuest(instancePayload(UUIDS[1]!), [watchingVif(OTHER, ['10.0.0.7/32'])]);
    await first.membersChanged(members('10.0.0.1/32', '10.0.0.4/32'));

    const datapath = new CountingDatapath();
    const restarted = new GuestNetworking(datapath, new VifCache(directory));
    // UUIDS[1] went while the service was down: its record and the set only it named are dropped.
    await restarted.reconcile([instancePayload(UUIDS[0]!)]);
    assert.equal(datapath.calls.at(-1), 'reconcile');
    assert.deepEqual(datapath.told.flat().find((g) => g.id === GROUP)?.ipv4, ['10.0.0.1/32', '10.0.0.4/32']);
    const [guest] = datapath.reconciled[0]!;
    assert.equal(guest!.instanceUuid, UUIDS[0]);
    assert.equal(ruleOf(guest!.vifs).remote_group_id, GROUP, 'the rule still names the group');
    assert.deepEqual((await readdir(join(directory, 'groups'))).sort(), [`${GROUP}.json`]);
    assert.deepEqual(ruleOf(await restarted.interfacesOf(UUIDS[0]!)).remote_prefixes, ['10.0.0.1/32', '10.0.0.4/32']);
  });

  it('a group another guest here names keeps its set when a build brings an older one', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    await networking.plugGuest(instancePayload(UUIDS[0]!), [watchingVif(GROUP, ['10.0.0.1/32'])]);
    await networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32'));
    // Expanded before the change was sent, arriving after it: the followed set stays.
    await networking.plugGuest(instancePayload(UUIDS[1]!), [watchingVif(GROUP, ['10.0.0.1/32'])]);
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.2/32']);
    assert.deepEqual(ruleOf(await networking.interfacesOf(UUIDS[1]!)).remote_prefixes, ['10.0.0.1/32', '10.0.0.2/32']);
  });

  it('a build takes the members received after its mark for a group no guest here named yet', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    const mark = networking.memberMark();
    await networking.membersChanged(members('10.0.0.1/32', '10.0.0.5/32'));
    await networking.plugGuest(instancePayload(UUIDS[0]!), [watchingVif(GROUP, ['10.0.0.1/32'])], mark);
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.5/32']);
  });

  it('a change that arrives while a build tells the datapath its group is applied to the group', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let telling!: () => void;
    const told = new Promise<void>((resolve) => (telling = resolve));
    const tell = datapath.groupMembers.bind(datapath);
    let calls = 0;
    datapath.groupMembers = async (groups) => {
      await tell(groups);
      if (++calls > 1) return;
      telling();
      await held;
    };
    const building = networking.plugGuest(instancePayload(UUIDS[0]!), [watchingVif(GROUP, ['10.0.0.1/32'])]);
    await told;
    // The build took its group's set and has not recorded the guest yet.
    const applied = networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32'));
    release();
    await Promise.all([building, applied]);
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.2/32']);
    assert.deepEqual(datapath.told.at(-1), members('10.0.0.1/32', '10.0.0.2/32'));
  });

  it('a rule from an older sender, addresses without the group id, is recorded and plugged as it came', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    // watchingVif's rule as a sender before Vif 1.1 made it: no remote_group_id.
    const { remote_group_id: _group, ...oldRule } = ruleOf([watchingVif(GROUP, ['10.0.0.8/32'])]);
    const old: Vif = { ...watchingVif(GROUP), security_group_rules: [oldRule] };
    await networking.plugGuest(instancePayload(UUIDS[0]!), [old]);
    assert.deepEqual(ruleOf(datapath.plugs[0]!).remote_prefixes, ['10.0.0.8/32']);
    assert.deepEqual(ruleOf(await networking.interfacesOf(UUIDS[0]!)).remote_prefixes, ['10.0.0.8/32']);
    assert.deepEqual(datapath.told, [], 'no set');
  });
});

/** The conductor as a host asks it: every ask recorded; answers given by the test (or at once). */
class Conductor {
  asked: string[][] = [];
  private waiting: { ids: readonly string[]; resolve: (groups: GroupMembers[]) => void; reject: (e: Error) => void }[] =
    [];
  constructor(
    /** Answered at once with these members (undefined: held until `answer` or `fail`). */
    private readonly members?: Record<string, string[]>,
  ) {}
  readonly ask: AskMembers = (ids) => {
    this.asked.push([...ids]);
    if (this.members) return Promise.resolve(ids.map((id) => ({ id, ipv4: this.members![id] ?? [], ipv6: [] })));
    return new Promise((resolve, reject) => this.waiting.push({ ids, resolve, reject }));
  };
  answer(members: Record<string, string[]>): void {
    for (const ask of this.waiting.splice(0))
      ask.resolve(ask.ids.map((id) => ({ id, ipv4: members[id] ?? [], ipv6: [] })));
  }
  /** Until `count` asks reached the conductor (a plug asks once it has read the host's records). */
  async asks(count: number): Promise<void> {
    for (let waited = 0; this.asked.length < count; waited += 5) {
      if (waited > 5000) throw new Error(`${this.asked.length} asks, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  fail(err: Error): void {
    for (const ask of this.waiting.splice(0)) ask.reject(err);
  }
}

describe('compute: a build naming a remote group without its members (Vif 1.2)', () => {
  it('a host without the set asks the conductor once, before the plug, and then not again', async () => {
    const datapath = new CountingDatapath();
    const conductor = new Conductor({ [GROUP]: ['10.0.0.1/32', '10.0.0.2/32'] });
    const networking = new GuestNetworking(datapath, new VifCache(directory), undefined, conductor.ask);
    // A burst: guests naming the group plugged at once share one ask.
    await Promise.all(UUIDS.slice(0, 2).map((uuid) => networking.plugGuest(instancePayload(uuid), [namingVif(GROUP)])));
    assert.deepEqual(conductor.asked, [[GROUP]]);
    assert.deepEqual(datapath.calls.slice(0, 2), [`members ${GROUP}`, 'plug'], 'the set is told before the plug');
    assert.deepEqual(datapath.told[0], members('10.0.0.1/32', '10.0.0.2/32'));
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.2/32']);
    // Plugged and recorded without addresses; read back expanded from the set.
    assert.deepEqual(ruleOf(datapath.plugs[0]!).remote_prefixes, []);
    assert.deepEqual(ruleOf(await networking.interfacesOf(UUIDS[0]!)).remote_prefixes, ['10.0.0.1/32', '10.0.0.2/32']);
    // The host follows the group now: the next build asks nothing.
    await networking.plugGuest(instancePayload(UUIDS[2]!), [namingVif(GROUP)]);
    assert.deepEqual(conductor.asked, [[GROUP]]);
    // Nor does a change of a guest that names the group already.
    await networking.changed(
      instancePayload(UUIDS[0]!),
      await networking
        .interfacesOf(UUIDS[0]!)
        .then((vifs) => vifs.map((v) => ({ ...v, security_group_rules: namingVif(GROUP).security_group_rules }))),
    );
    assert.deepEqual(conductor.asked, [[GROUP]]);
  });

  it('a host that follows the group (another guest names it) asks nothing and keeps its set', async () => {
    const datapath = new CountingDatapath();
    const conductor = new Conductor({});
    const networking = new GuestNetworking(datapath, new VifCache(directory), undefined, conductor.ask);
    await networking.plugGuest(instancePayload(UUIDS[0]!), [watchingVif(GROUP, ['10.0.0.1/32'])]);
    await networking.membersChanged(members('10.0.0.1/32', '10.0.0.4/32'));
    await networking.plugGuest(instancePayload(UUIDS[1]!), [namingVif(GROUP)]);
    await networking.attach(fakeGuests(), instancePayload(UUIDS[2]!), namingVif(GROUP));
    assert.deepEqual(conductor.asked, []);
    assert.deepEqual(ruleOf(await networking.interfacesOf(UUIDS[1]!)).remote_prefixes, ['10.0.0.1/32', '10.0.0.4/32']);
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.4/32']);
  });

  it('members a round brings after the ask was sent win over the answer', async () => {
    const datapath = new CountingDatapath();
    const conductor = new Conductor();
    const networking = new GuestNetworking(datapath, new VifCache(directory), undefined, conductor.ask);
    const building = networking.plugGuest(instancePayload(UUIDS[0]!), [namingVif(GROUP)]);
    await conductor.asks(1);
    assert.deepEqual(conductor.asked, [[GROUP]]);
    // The group changes while the ask is out: the round reaches this host before the (older) answer.
    await networking.membersChanged(members('10.0.0.1/32', '10.0.0.7/32'));
    conductor.answer({ [GROUP]: ['10.0.0.1/32'] });
    await building;
    assert.deepEqual((await storedSet(GROUP)).ipv4, ['10.0.0.1/32', '10.0.0.7/32']);
    assert.deepEqual(datapath.told.at(-1), members('10.0.0.1/32', '10.0.0.7/32'));
    assert.deepEqual(ruleOf(await networking.interfacesOf(UUIDS[0]!)).remote_prefixes, ['10.0.0.1/32', '10.0.0.7/32']);
    // A round from before the ask (the group then unfollowed here) does not: the answer is newer.
    const other = new GuestNetworking(
      new CountingDatapath(),
      new VifCache(join(directory, 'other')),
      undefined,
      conductor.ask,
    );
    await other.membersChanged([{ id: OTHER, ipv4: ['10.0.0.8/32'], ipv6: [] }]);
    const plugging = other.plugGuest(instancePayload(UUIDS[1]!), [namingVif(OTHER)]);
    await conductor.asks(2);
    conductor.answer({ [OTHER]: ['10.0.0.9/32'] });
    await plugging;
    assert.deepEqual(ruleOf(await other.interfacesOf(UUIDS[1]!)).remote_prefixes, ['10.0.0.9/32']);
  });

  it('a failed ask fails the plug, saying why: nothing plugged, recorded or kept, and the next plug asks again', async () => {
    const datapath = new CountingDatapath();
    const conductor = new Conductor();
    const networking = new GuestNetworking(datapath, new VifCache(directory), undefined, conductor.ask);
    const building = networking.plugGuest(instancePayload(UUIDS[0]!), [namingVif(GROUP)]);
    await conductor.asks(1);
    conductor.fail(new Error('Timed out waiting for a reply'));
    await assert.rejects(
      building,
      (err: Error) =>
        err instanceof MembersUnavailable && err.message.includes(GROUP) && err.message.includes('Timed out'),
    );
    assert.deepEqual(datapath.plugs, []);
    assert.deepEqual(datapath.told, []);
    assert.deepEqual(await networking.interfacesOf(UUIDS[0]!), []);
    // The group is not taken as followed: the next build asks again, and plugs with the answer.
    const again = networking.plugGuest(instancePayload(UUIDS[1]!), [namingVif(GROUP)]);
    await conductor.asks(2);
    assert.deepEqual(conductor.asked, [[GROUP], [GROUP]]);
    conductor.answer({ [GROUP]: ['10.0.0.3/32'] });
    await again;
    assert.deepEqual(ruleOf(await networking.interfacesOf(UUIDS[1]!)).remote_prefixes, ['10.0.0.3/32']);
  });

  it('a host given no conductor to ask fails the plug rather than plug an empty set', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    await assert.rejects(networking.plugGuest(instancePayload(UUIDS[0]!), [namingVif(GROUP)]), MembersUnavailable);
    assert.deepEqual(datapath.plugs, []);
  });
});

/** A virt driver that takes any interface (attach's guest side). */
function fakeGuests(): VirtDriver {
  return {
    attachInterface: () => Promise.resolve(),
    detachInterface: () => Promise.resolve(),
  } as unknown as VirtDriver;
}

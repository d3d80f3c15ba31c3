/**
 * The compute manager's side of guest networking, on the fake virt driver with a datapath stand-in that
 * records every call in one log with the driver's spawns and destroys: ports plugged before the guest
 * starts and unplugged after it is gone, the host's record of each guest's interfaces, reconcile at start
 * with every guest's ports, and attach, detach and change.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { expandRemoteGroups } from '../../src/compute/network/member-sets.ts';
import type { GuestPorts, NetworkDriver } from '../../src/compute/network/network-driver.ts';
import type { GroupMembers } from '../../src/wire/contracts/compute.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import type { NetworkInfo, Vif } from '../../src/wire/messages/network-info.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { recordingConductor } from '../helpers/recording-conductor.ts';
import { testVif, watchingVif } from '../helpers/vif.ts';

/** A datapath that writes what it is asked into `log` (shared with the driver), failing when told to. */
class RecordingDatapath implements NetworkDriver {
  reconciled: GuestPorts[][] = [];
  /** Each guest's ports as last plugged. */
  readonly plugged = new Map<string, readonly Vif[]>();
  failPlug = false;
  constructor(private readonly log: string[]) {}
  plug(uuid: string, vifs: readonly Vif[], extraSpecs: Readonly<Record<string, string>>): Promise<void> {
    this.log.push(`plug ${uuid} ${vifs.map((v) => v.id).join(',')} ${JSON.stringify(extraSpecs)}`);
    this.plugged.set(uuid, vifs);
    return this.failPlug ? Promise.reject(new Error('no bridge')) : Promise.resolve();
  }
  unplug(uuid: string, vifs: readonly Vif[]): Promise<void> {
    this.log.push(`unplug ${uuid} ${vifs.map((v) => v.id).join(',')}`);
    return Promise.resolve();
  }
  reconcile(wanted: readonly GuestPorts[]): Promise<void> {
    this.log.push('reconcile');
    this.reconciled.push([...wanted]);
    return Promise.resolve();
  }
  /** The remote groups' sets as told. */
  readonly members = new Map<string, GroupMembers>();
  groupMembers(groups: readonly GroupMembers[]): Promise<void> {
    for (const group of groups) this.members.set(group.id, group);
    return Promise.resolve();
  }
  /** The guest's ports as last plugged, their remote groups' rules as the datapath applies them. */
  applied(uuid: string): Vif[] | undefined {
    return this.plugged.get(uuid)?.map((vif) => expandRemoteGroups(vif, (id) => this.members.get(id)));
  }
}

const UUID_A = '0a000000-0000-4000-8000-00000000000a';
const UUID_B = '0b000000-0000-4000-8000-00000000000b';
const ctx = adminContext();

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stratus-vifcache-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A manager on a fresh fake driver whose spawn/destroy/attach/detach also go into the log. */
async function setUp(
  options: {
    onHost?: InstancePayload[];
    spawnFailureRate?: number;
    resumeGuests?: boolean;
    conductor?: Parameters<typeof recordingConductor>[1];
  } = {},
) {
  const log: string[] = [];
  const driver = new FakeDriver(fakeDriverOptions({ spawnFailureRate: options.spawnFailureRate ?? 0 }));
  await driver.init('h');
  for (const name of ['spawn', 'destroy', 'attachInterface', 'detachInterface'] as const) {
    const original = driver[name].bind(driver) as (...args: unknown[]) => Promise<void>;
    (driver as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const uuid = typeof args[0] === 'string' ? args[0] : (args[0] as InstancePayload).uuid;
      log.push(`${name} ${uuid}`);
      return original(...args);
    };
  }
  const datapath = new RecordingDatapath(log);
  const { conductor, recorded } = recordingConductor(options.onHost, options.conductor);
  const config = loadConfig([], {
    compute: { vif_cache_directory: directory },
    DEFAULT: { resume_guests_state_on_host_boot: String(options.resumeGuests ?? false) },
  });
  const manager = new ComputeManager('h', config, driver, datapath, conductor);
  return { log, driver, datapath, manager, recorded };
}

function build(manager: ComputeManager, uuid: string, networkInfo: NetworkInfo, extraSpecs = {}) {
  return manager.buildAndRunInstance(
    ctx,
    instancePayload(uuid, {}, { extra_specs: extraSpecs }),
    'h',
    [],
    1,
    networkInfo,
  );
}

describe('compute: guest networking', () => {
  it('plugs the ports with the flavor extra specs before the spawn and gives them to the guest', async () => {
    const { log, driver, manager } = await setUp();
    const vifs = [testVif(), testVif()];
    await build(manager, UUID_A, vifs, { 'quota:vif_inbound_average': '100' });
    const ids = vifs.map((v) => v.id).join(',');
    assert.deepEqual(log, [`plug ${UUID_A} ${ids} {"quota:vif_inbound_average":"100"}`, `spawn ${UUID_A}`]);
    assert.deepEqual(
      driver.interfacesOf(UUID_A).map((v) => v.id),
      vifs.map((v) => v.id),
    );
    assert.deepEqual(await readdir(join(directory, 'h')), [`${UUID_A}.json`], 'the host recorded the interfaces');
  });

  it('unplugs after the guest is destroyed on delete, and forgets the interfaces', async () => {
    const { log, manager } = await setUp();
    const vif = testVif();
    await build(manager, UUID_A, [vif]);
    log.length = 0;
    await manager.terminateInstance(ctx, instancePayload(UUID_A, { task_state: TaskState.DELETING }));
    assert.deepEqual(log, [`destroy ${UUID_A}`, `unplug ${UUID_A} ${vif.id}`]);
    assert.deepEqual(await readdir(join(directory, 'h')), []);
  });

  it('a failed spawn destroys the guest, then unplugs what was plugged', async () => {
    const { log, manager, recorded } = await setUp({ spawnFailureRate: 1 });
    const vif = testVif();
    await build(manager, UUID_A, [vif]);
    assert.deepEqual(log, [
      `plug ${UUID_A} ${vif.id} {}`,
      `spawn ${UUID_A}`,
      `destroy ${UUID_A}`,
      `unplug ${UUID_A} ${vif.id}`,
    ]);
    assert.ok(recorded.events.some((e) => e.event === 'compute_build_and_run_instance' && e.error));
    assert.deepEqual(await readdir(join(directory, 'h')), []);
  });

  it('a failed plug never starts the guest and unplugs what it may have made', async () => {
    const { log, datapath, driver, manager } = await setUp();
    datapath.failPlug = true;
    const vif = testVif();
    await build(manager, UUID_A, [vif]);
    assert.ok(!log.includes(`spawn ${UUID_A}`));
    assert.deepEqual(log.slice(-2), [`destroy ${UUID_A}`, `unplug ${UUID_A} ${vif.id}`]);
    assert.equal(driver.listGuests().length, 0);
  });

  it('a build without interfaces plugs nothing and records nothing', async () => {
    const { log, manager } = await setUp();
    await build(manager, UUID_A, []);
    assert.deepEqual(log, [`spawn ${UUID_A}`]);
    await manager.terminateInstance(ctx, instancePayload(UUID_A));
    assert.deepEqual(log, [`spawn ${UUID_A}`, `destroy ${UUID_A}`]);
  });

  it('reconciles the datapath at start with the ports of every guest on the host, before settling them', async () => {
    const first = await setUp();
    const [a1, a2, b1, gone] = [testVif(), testVif(), testVif(), testVif()];
    const UUID_GONE = '0c000000-0000-4000-8000-00000000000c';
    await build(first.manager, UUID_A, [a1, a2]);
    await build(first.manager, UUID_B, [b1], { 'quota:vif_outbound_average': '50' });
    await build(first.manager, UUID_GONE, [gone]);
    // The service restarts; meanwhile UUID_GONE was deleted (the conductor no longer lists it here).
    const running = { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING };
    const onHost = [
      instancePayload(UUID_A, running),
      instancePayload(UUID_B, running, { extra_specs: { 'quota:vif_outbound_average': '50' } }),
    ];
    const second = await setUp({ onHost });
    await second.manager.initHost();
    assert.equal(second.log[0], 'reconcile', 'the datapath comes before any guest is settled or started');
    const wanted = second.datapath.reconciled[0]!.map((g) => ({ ...g, vifs: g.vifs.map((v) => v.id) }));
    assert.deepEqual(
      wanted.sort((x, y) => x.instanceUuid.localeCompare(y.instanceUuid)),
      [
        { instanceUuid: UUID_A, projectId: 'p1', vifs: [a1.id, a2.id], extraSpecs: {} },
        { instanceUuid: UUID_B, projectId: 'p1', vifs: [b1.id], extraSpecs: { 'quota:vif_outbound_average': '50' } },
      ],
    );
    assert.deepEqual((await readdir(join(directory, 'h'))).sort(), [`${UUID_A}.json`, `${UUID_B}.json`]);
  });

  it('a guest the restarted host lost is spawned again with its recorded interfaces, after the reconcile', async () => {
    const first = await setUp();
    const vif = testVif();
    await build(first.manager, UUID_A, [vif]);
    const running = { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING };
    // A fresh fake driver knows no guest: the host lost it, and resume_guests_state_on_host_boot brings it back.
    const second = await setUp({ onHost: [instancePayload(UUID_A, running)], resumeGuests: true });
    await second.manager.initHost();
    assert.deepEqual(second.log, ['reconcile', `spawn ${UUID_A}`]);
    assert.deepEqual(
      second.driver.interfacesOf(UUID_A).map((v) => v.id),
      [vif.id],
    );
  });

  it('a record that does not parse is ignored, not fatal', async () => {
    const { manager, datapath } = await setUp({
      onHost: [instancePayload(UUID_A, { vm_state: VmState.ACTIVE, task_state: null })],
    });
    await mkdir(join(directory, 'h'), { recursive: true });
    await writeFile(join(directory, 'h', `${UUID_A}.json`), '[{"id": 1}]');
    await manager.initHost();
    assert.deepEqual(datapath.reconciled[0], []);
  });

  it('attach plugs then hot-plugs and records; detach unplugs after the guest let go; both are instance events', async () => {
    const { log, driver, manager, recorded } = await setUp();
    const first = testVif();
    await build(manager, UUID_A, [first]);
    const instance = instancePayload(UUID_A, { vm_state: VmState.ACTIVE, task_state: null });
    const added = testVif({ mac: 'fa:16:3e:00:00:06' });
    log.length = 0;
    await manager.attachInterface(ctx, instance, added);
    assert.deepEqual(log, [`plug ${UUID_A} ${added.id} {}`, `attachInterface ${UUID_A}`]);
    assert.deepEqual(await manager.networking.interfacesOf(UUID_A).then((n) => n.map((v) => v.id)), [
      first.id,
      added.id,
    ]);
    log.length = 0;
    await manager.detachInterface(ctx, instance, first);
    assert.deepEqual(log, [`detachInterface ${UUID_A}`, `unplug ${UUID_A} ${first.id}`]);
    assert.deepEqual(
      driver.interfacesOf(UUID_A).map((v) => v.id),
      [added.id],
    );
    assert.deepEqual(await manager.networking.interfacesOf(UUID_A).then((n) => n.map((v) => v.id)), [added.id]);
    const events = recorded.events.filter((e) => e.event.includes('interface'));
    assert.deepEqual(events, [
      { event: 'compute_attach_interface', phase: 'start', error: false },
      { event: 'compute_attach_interface', phase: 'finish', error: false },
      { event: 'compute_detach_interface', phase: 'start', error: false },
      { event: 'compute_detach_interface', phase: 'finish', error: false },
    ]);
  });

  it('an attach the guest refuses unplugs the new port again and raises, recording the event in Error', async () => {
    const { log, driver, manager, recorded } = await setUp();
    await build(manager, UUID_A, []);
    await driver.suspend(UUID_A);
    const vif = testVif();
    log.length = 0;
    await assert.rejects(manager.attachInterface(ctx, instancePayload(UUID_A), vif), /suspend/i);
    assert.deepEqual(log, [`plug ${UUID_A} ${vif.id} {}`, `attachInterface ${UUID_A}`, `unplug ${UUID_A} ${vif.id}`]);
    assert.deepEqual(await manager.networking.interfacesOf(UUID_A), []);
    assert.ok(recorded.events.some((e) => e.event === 'compute_attach_interface' && e.phase === 'finish' && e.error));
  });

  it('a change re-plugs the ports the guest has with their new state, and records it', async () => {
    const { log, manager } = await setUp();
    const vif = testVif();
    await build(manager, UUID_A, [vif]);
    const changed = { ...vif, fixed_ips: [{ subnet_id: vif.network.subnets[0]!.id, ip_address: '10.0.0.9' }] };
    const stranger = testVif();
    log.length = 0;
    await manager.networkInfoChanged(ctx, instancePayload(UUID_A), [changed, stranger]);
    assert.deepEqual(log, [`plug ${UUID_A} ${vif.id} {}`], 'a port the guest lacks here is left to attach');
    const recordedVifs = await manager.networking.interfacesOf(UUID_A);
    assert.equal(recordedVifs[0]!.fixed_ips[0]!.ip_address, '10.0.0.9');
    log.length = 0;
    await manager.networkInfoChanged(ctx, instancePayload(UUID_B), [testVif()]);
    assert.deepEqual(log, [], 'a guest this host does not run is left alone');
  });

  it('shelve offload unplugs but keeps the record; an unshelve here without interfaces uses it', async () => {
    const { log, driver, manager } = await setUp();
    const vif = testVif();
    await build(manager, UUID_A, [vif]);
    const offloading = instancePayload(UUID_A, {
      vm_state: VmState.SHELVED,
      task_state: TaskState.SHELVING_OFFLOADING,
    });
    log.length = 0;
    await manager.shelving.shelveOffload(ctx, offloading);
    assert.deepEqual(log, [`destroy ${UUID_A}`, `unplug ${UUID_A} ${vif.id}`]);
    const unshelving = instancePayload(UUID_A, {
      vm_state: VmState.SHELVED_OFFLOADED,
      task_state: TaskState.UNSHELVING,
    });
    log.length = 0;
    await manager.shelving.unshelve(ctx, unshelving, 'shelved-image', 'h');
    assert.deepEqual(log, [`plug ${UUID_A} ${vif.id} {}`, `spawn ${UUID_A}`]);
    assert.deepEqual(
      driver.interfacesOf(UUID_A).map((v) => v.id),
      [vif.id],
    );
  });

  describe('security group members that change while a build is on its way', () => {
    const GROUP = 'group-default';
    const before = ['10.0.0.5/32'];
    const after = ['10.0.0.5/32', '10.0.0.6/32'];
    /** A port whose ingress rule names the group, expanded to the members the build was sent with. */
    const memberVif = () => watchingVif(GROUP, before);
    const prefixes = (vifs: readonly Vif[] | undefined) => vifs?.[0]?.security_group_rules[0]?.remote_prefixes;
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };

    it('a change that arrives before the build plugs its ports is applied to them', async () => {
      // The build waits on its first report to the conductor; the member change arrives meanwhile, when
      // the host has no record of the guest yet.
      const held = gate();
      const reported = gate();
      const onHost = [instancePayload(UUID_A)];
      const { datapath, manager } = await setUp({
        onHost,
        conductor: {
          instanceUpdate: async () => {
            reported.open();
            await held.opened;
          },
        },
      });
      const building = build(manager, UUID_A, [memberVif()]);
      await reported.opened;
      await manager.securityGroupMembersChanged(ctx, [{ id: GROUP, ipv4: after, ipv6: [] }]);
      held.open();
      await building;
      assert.deepEqual(prefixes(datapath.applied(UUID_A)), after, 'the datapath has the new members');
      assert.deepEqual(prefixes(await manager.networking.interfacesOf(UUID_A)), after, 'and the record');
    });

    it('a change that arrives while the build records its ports is applied once they are', async () => {
      const { datapath, manager } = await setUp({ onHost: [instancePayload(UUID_A)] });
      // The build's record is being written (after its rules were expanded) when the change arrives.
      const held = gate();
      const writing = gate();
      const write = manager.networking.cache.write.bind(manager.networking.cache);
      manager.networking.cache.write = async (uuid, vifs) => {
        writing.open();
        await held.opened;
        return write(uuid, vifs);
      };
      const building = build(manager, UUID_A, [memberVif()]);
      await writing.opened;
      // The change is applied (to the group's set) while the build's record is still unwritten.
      const applied = manager.securityGroupMembersChanged(ctx, [{ id: GROUP, ipv4: after, ipv6: [] }]);
      await applied;
      held.open();
      await Promise.all([building, applied]);
      assert.deepEqual(prefixes(datapath.applied(UUID_A)), after);
      assert.deepEqual(prefixes(await manager.networking.interfacesOf(UUID_A)), after);
    });

    it('a change from before the build came is not applied over the members it was sent with', async () => {
      const { datapath, manager } = await setUp({ onHost: [instancePayload(UUID_A)] });
      await manager.securityGroupMembersChanged(ctx, [{ id: GROUP, ipv4: ['10.0.0.9/32'], ipv6: [] }]);
      await build(manager, UUID_A, [memberVif()]);
      assert.deepEqual(prefixes(datapath.applied(UUID_A)), before);
    });
  });
});

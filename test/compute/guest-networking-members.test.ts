/**
 * security_group_members_changed on a host (GuestNetworking.membersChanged): a guest whose rule names a
 * group as remote group gets the group's members, and changes that arrive while one is being applied
 * are applied together, the latest membership of each group winning. The conductor is asked for a
 * guest's payload only when the guest is not known running here (its record kept after an offload).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { GuestNetworking } from '../../src/compute/guest-networking.ts';
import type { GuestPorts, NetworkDriver } from '../../src/compute/network/network-driver.ts';
import { VifCache } from '../../src/compute/network/vif-cache.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import type { Vif } from '../../src/wire/messages/network-info.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { watchingVif } from '../helpers/vif.ts';

const GROUP = 'group-1';
const UUID = '0c000000-0000-4000-8000-00000000000c';

class CountingDatapath implements NetworkDriver {
  plugs: Vif[][] = [];
  plug(_uuid: string, vifs: readonly Vif[]): Promise<void> {
    this.plugs.push([...vifs]);
    return Promise.resolve();
  }
  unplug(): Promise<void> {
    return Promise.resolve();
  }
  reconcile(_wanted: readonly GuestPorts[]): Promise<void> {
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

describe('compute: security group members on a host', () => {
  it('applies the latest membership, changes arriving meanwhile gathered into one round', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    const instance: InstancePayload = instancePayload(UUID);
    await networking.plugGuest(instance, [watchingVif(GROUP)]);
    datapath.plugs = [];
    let asked = 0;
    const instances = () => {
      asked++;
      return Promise.resolve([instance]);
    };
    const first = networking.membersChanged(members('10.0.0.1/32'), instances);
    // The first round is under way (it starts on the next microtask): the next two wait for it.
    await new Promise((resolve) => setImmediate(resolve));
    const rounds = await Promise.all([
      first,
      networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32'), instances),
      networking.membersChanged(members('10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32'), instances),
    ]);
    assert.deepEqual(rounds, [[UUID], [UUID], [UUID]], 'each caller learns the guest changed');
    assert.equal(datapath.plugs.length, 2, 'the first change alone, then the two that came while it ran');
    assert.equal(asked, 0, 'the guest was plugged here: its payload is known');
    const [vif] = await networking.interfacesOf(UUID);
    assert.deepEqual(vif!.security_group_rules[0]!.remote_prefixes, ['10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32']);

    // A later change is applied on its own, and one that changes nothing plugs nothing.
    assert.deepEqual(await networking.membersChanged(members('10.0.0.3/32'), instances), [UUID]);
    assert.deepEqual(await networking.membersChanged(members('10.0.0.3/32'), instances), []);
    assert.equal(datapath.plugs.length, 3);
  });

  it('asks the conductor about a guest whose record stayed after an offload, and leaves it be when gone', async () => {
    const datapath = new CountingDatapath();
    const networking = new GuestNetworking(datapath, new VifCache(directory));
    const instance: InstancePayload = instancePayload(UUID);
    await networking.plugGuest(instance, [watchingVif(GROUP)]);
    await networking.unplugGuest(UUID, false);
    datapath.plugs = [];
    let asked = 0;
    const none = () => {
      asked++;
      return Promise.resolve([]);
    };
    assert.deepEqual(await networking.membersChanged(members('10.0.0.7/32'), none), []);
    assert.equal(asked, 1);
    assert.equal(datapath.plugs.length, 0, 'nothing plugged for a guest not on this host');
    // Unshelved here: known again, no question asked.
    await networking.plugGuest(instance, (await networking.interfacesOf(UUID))!);
    datapath.plugs = [];
    assert.deepEqual(await networking.membersChanged(members('10.0.0.8/32'), none), [UUID]);
    assert.equal(asked, 1);
    assert.equal(datapath.plugs.length, 1);
  });
});

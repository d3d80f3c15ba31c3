/**
 * Guest NICs without a guest: the qemu arguments for a NetworkInfo (order, ids, MACs, refusals), the command
 * that runs qemu inside a network namespace, hot-plug and unplug against a scripted QMP socket for what a
 * real guest does in its own time (the DEVICE_DELETED event, a device already gone, a guest that never lets go),
 * and attach and detach by guest state (running, stopped, suspended) and when repeated.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  attachNic,
  detachNic,
  guestNic,
  guestNics,
  nicArguments,
  plugNic,
  qemuCommand,
  sameNics,
  unplugNic,
  type GuestNic,
  type NicGuest,
} from '../../../../src/compute/virt/qemu/guest-nics.ts';
import { qemuArguments } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { QmpClient } from '../../../../src/compute/virt/qemu/qmp-client.ts';
import { InstanceInvalidState } from '../../../../src/common/errors.ts';
import { TCG_MACHINE, TEST_GUEST_FILES, testGuestSpec } from '../../../helpers/guest-spec.ts';
import { scriptedQmp, type ScriptedCommand } from '../../../helpers/scripted-qmp.ts';
import { testVif } from '../../../helpers/vif.ts';

const PORT_A = '3f1c2b9a-0000-4000-8000-00000000000a';
const PORT_B = '7d2e4c1b-0000-4000-8000-00000000000b';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stratus-nics-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('guest NIC arguments', () => {
  it('gives each VIF a tap backend and a virtio-net-pci device, in NetworkInfo order', () => {
    const nics = guestNics([
      testVif({ id: PORT_B, mac: 'fa:16:3e:00:00:0b' }),
      testVif({ id: PORT_A, mac: 'FA:16:3E:00:00:0A', devname: 'tapcustom' }),
    ]);
    assert.deepEqual(nicArguments(nics), [
      '-netdev',
      `tap,id=hostnet-${PORT_B},ifname=tap7d2e4c1b-00,script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=hostnet-${PORT_B},id=net-${PORT_B},mac=fa:16:3e:00:00:0b`,
      '-netdev',
      `tap,id=hostnet-${PORT_A},ifname=tapcustom,script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=hostnet-${PORT_A},id=net-${PORT_A},mac=fa:16:3e:00:00:0a`,
    ]);
    assert.deepEqual(nicArguments([]), []);
  });

  it('puts the NICs on the qemu command line after the disks, and none for a guest without them', () => {
    const spec = testGuestSpec();
    const files = TEST_GUEST_FILES;
    const machine = TCG_MACHINE;
    const without = qemuArguments(spec, files, machine);
    assert.ok(!without.includes('-netdev'), 'a guest built before networking (no nics) has no NIC');
    const nics = guestNics([testVif({ id: PORT_A })]);
    const withNic = qemuArguments({ ...spec, nics }, files, machine);
    assert.deepEqual(withNic.slice(0, without.length), without);
    assert.deepEqual(withNic.slice(without.length), nicArguments(nics));
  });

  it('refuses what qemu would misread: bad tap names, MACs, port ids, a port listed twice', () => {
    assert.throws(() => guestNic(testVif({ devname: 'tap,x=y' })), /invalid tap name/);
    assert.throws(() => guestNic(testVif({ devname: 'a-name-too-long-for-linux' })), /invalid tap name/);
    assert.throws(() => guestNic({ ...testVif(), mac_address: 'fa:16:3e:00:00' }), /invalid MAC/);
    assert.throws(() => guestNic(testVif({ id: '-starts-with-dash' })), /cannot name a QEMU device/);
    assert.throws(() => guestNics([testVif({ id: PORT_A }), testVif({ id: PORT_A })]), /listed twice/);
  });

  it('runs qemu itself, or inside the network namespace through ip netns exec', () => {
    assert.deepEqual(qemuCommand('/usr/bin/qemu', ['-m', '128'], null), { file: '/usr/bin/qemu', args: ['-m', '128'] });
    assert.deepEqual(qemuCommand('/usr/bin/qemu', ['-m', '128'], 'stratus-net'), {
      file: 'ip',
      args: ['netns', 'exec', 'stratus-net', '/usr/bin/qemu', '-m', '128'],
    });
  });
});

describe('NIC hot-plug over QMP', () => {
  /** A scripted qemu recording the commands it gets; `reply` answers each (default: success). */
  async function qemu(name: string, reply: (message: ScriptedCommand) => string = () => '{"return": {}}') {
    const seen: ScriptedCommand[] = [];
    const path = join(work, `${name}.sock`);
    const stop = await scriptedQmp(path, (_command, socket, message) => {
      seen.push(message);
      socket.write(`${reply(message)}\n`);
    });
    const qmp = await QmpClient.connect(path);
    return {
      seen,
      qmp,
      close() {
        qmp.close();
        stop();
      },
    };
  }
  const nic = guestNic(testVif({ id: PORT_A, mac: 'fa:16:3e:00:00:0a' }));

  it('plugs the tap backend, then the device with the MAC', async () => {
    const q = await qemu('plug');
    await plugNic(q.qmp, nic);
    assert.deepEqual(q.seen, [
      {
        execute: 'netdev_add',
        arguments: { type: 'tap', id: `hostnet-${PORT_A}`, ifname: nic.tap, script: 'no', downscript: 'no' },
      },
      {
        execute: 'device_add',
        arguments: { driver: 'virtio-net-pci', netdev: `hostnet-${PORT_A}`, id: `net-${PORT_A}`, mac: nic.mac },
      },
    ]);
    q.close();
  });

  it('removes the backend again when the device cannot be added, and takes a repeated plug as done', async () => {
    const failing = await qemu('plug-fails', (m) =>
      m.execute === 'device_add'
        ? '{"error": {"class": "GenericError", "desc": "no free PCI slot"}}'
        : '{"return": {}}',
    );
    await assert.rejects(plugNic(failing.qmp, nic), /no free PCI slot/);
    assert.deepEqual(
      failing.seen.map((m) => m.execute),
      ['netdev_add', 'device_add', 'netdev_del'],
    );
    failing.close();
    const repeated = await qemu('plug-again', (m) =>
      m.execute === 'netdev_add'
        ? `{"error": {"class": "GenericError", "desc": "Duplicate ID 'hostnet-${PORT_A}' for netdev"}}`
        : `{"error": {"class": "GenericError", "desc": "Duplicate device ID 'net-${PORT_A}'"}}`,
    );
    await plugNic(repeated.qmp, nic);
    repeated.close();
  });

  it('unplugs once the guest released the device (DEVICE_DELETED), even before device_del answers', async () => {
    const q = await qemu('unplug', (m) =>
      m.execute === 'device_del'
        ? // The backend's own event first (no device id), then the device's, then the answer.
          `{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/net-${PORT_A}/virtio-backend"}}\n` +
          `{"event": "DEVICE_DELETED", "data": {"device": "net-${PORT_A}", "path": "/machine/peripheral/net-${PORT_A}"}}\n` +
          '{"return": {}}'
        : '{"return": {}}',
    );
    await unplugNic(q.qmp, nic, 5000);
    assert.deepEqual(q.seen, [
      { execute: 'device_del', arguments: { id: `net-${PORT_A}` } },
      { execute: 'netdev_del', arguments: { id: `hostnet-${PORT_A}` } },
    ]);
    q.close();
  });

  it('completes an unplug whose device is gone already, and fails one the guest never releases', async () => {
    const gone = await qemu('unplug-gone', (m) =>
      m.execute === 'device_del'
        ? `{"error": {"class": "DeviceNotFound", "desc": "Device 'net-${PORT_A}' not found"}}`
        : `{"error": {"class": "GenericError", "desc": "Device 'hostnet-${PORT_A}' not found"}}`,
    );
    await unplugNic(gone.qmp, nic, 5000);
    assert.deepEqual(
      gone.seen.map((m) => m.execute),
      ['device_del', 'netdev_del'],
    );
    gone.close();
    const stubborn = await qemu('unplug-stuck');
    await assert.rejects(
      unplugNic(stubborn.qmp, nic, 200),
      /did not release its NIC .*no DEVICE_DELETED event within 200 ms/,
    );
    assert.deepEqual(
      stubborn.seen.map((m) => m.execute),
      ['device_del'],
      'the backend stays while the device may still use it',
    );
    stubborn.close();
  });
});

describe('interface attach and detach', () => {
  /** A guest in `state`, counting its saves, whose qemu (when it runs) answers every command with success. */
  async function guestIn(state: 'running' | 'stopped' | 'suspended', nics: GuestNic[] = []) {
    const commands: string[] = [];
    let client: QmpClient | null = null;
    const path = join(work, `guest-${state}.sock`);
    const stop = await scriptedQmp(path, (command, socket, message) => {
      commands.push(command);
      const device = message.arguments?.['id'];
      // The guest releases a device as soon as it is asked to.
      if (command === 'device_del')
        socket.write(`{"event": "DEVICE_DELETED", "data": {"device": "${String(device)}"}}\n`);
      socket.write('{"return": {}}\n');
    });
    let saves = 0;
    const guest: NicGuest = {
      spec: { uuid: 'guest', nics: [...nics] },
      save: async () => {
        saves += 1;
      },
      running: state === 'running',
      suspended: state === 'suspended',
      qmp: async () => (client ??= await QmpClient.connect(path)),
    };
    return {
      guest,
      commands,
      saves: () => saves,
      close() {
        client?.close();
        stop();
      },
    };
  }
  const [a, b] = [testVif({ id: PORT_A }), testVif({ id: PORT_B, mac: 'fa:16:3e:00:00:0b' })];

  it('hot-plugs into a running guest and records the NIC after the others; a repeat does nothing', async () => {
    const g = await guestIn('running', guestNics([a]));
    await attachNic(g.guest, b);
    await attachNic(g.guest, b);
    assert.deepEqual(g.commands, ['netdev_add', 'device_add']);
    assert.ok(sameNics(g.guest.spec.nics!, guestNics([a, b])));
    assert.equal(g.saves(), 1);
    await detachNic(g.guest, a);
    await detachNic(g.guest, a);
    assert.deepEqual(g.commands, ['netdev_add', 'device_add', 'device_del', 'netdev_del']);
    assert.ok(sameNics(g.guest.spec.nics!, guestNics([b])));
    assert.equal(g.saves(), 2);
    g.close();
  });

  it('only records the change for a stopped guest, and refuses a suspended one, changing nothing', async () => {
    const stopped = await guestIn('stopped', guestNics([a]));
    await attachNic(stopped.guest, b);
    await detachNic(stopped.guest, a);
    assert.deepEqual(stopped.commands, [], 'no qemu runs to be told');
    assert.ok(sameNics(stopped.guest.spec.nics!, guestNics([b])));
    stopped.close();
    const suspended = await guestIn('suspended', guestNics([a]));
    await assert.rejects(attachNic(suspended.guest, b), InstanceInvalidState);
    await assert.rejects(detachNic(suspended.guest, a), InstanceInvalidState);
    assert.ok(sameNics(suspended.guest.spec.nics!, guestNics([a])));
    assert.equal(suspended.saves(), 0);
    suspended.close();
  });

  it('compares NIC lists by content and order', () => {
    assert.ok(sameNics(guestNics([a, b]), guestNics([a, b])));
    assert.ok(!sameNics(guestNics([a, b]), guestNics([b, a])));
    assert.ok(!sameNics(guestNics([a]), guestNics([a, b])));
  });
});

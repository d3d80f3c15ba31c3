/**
 * The qemu driver's VNC consoles with a real guest: its VNC server answers RFB on the port the driver
 * reports, at [vnc] server_proxyclient_address; a restarted compute service (a new driver on the same
 * instances path) reports the same port; without [vnc] the console type is unavailable.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { it } from 'node:test';
import { ConsoleTypeUnavailable } from '../../../../src/common/errors.ts';
import type { QemuDriver, QemuDriverOptions } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import { demoGuestInstance, qemuTestbed } from '../../../helpers/qemu-driver-fixtures.ts';

const HOST = 'vnc-test-host';
const bed = qemuTestbed('stratus-vnc-');

function newDriver(vnc: QemuDriverOptions['vnc']): Promise<QemuDriver> {
  return bed.driver(HOST, 'instances', { vnc });
}

/** The first 12 bytes a VNC server sends: its RFB protocol version. */
function rfbVersionAt(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    socket.on('data', (data) => {
      got = Buffer.concat([got, data]);
      if (got.length < 12) return;
      socket.destroy();
      resolve(got.subarray(0, 12).toString('latin1'));
    });
    socket.on('error', reject);
  });
}

const VNC = { listen: '127.0.0.1', proxyclientAddress: '127.0.0.1' };

it('reports the VNC port of a running guest, the same after a compute restart', async () => {
  let driver = await newDriver(VNC);
  const guest = demoGuestInstance(HOST);
  await driver.spawn(guest, HOST);
  const vnc = await driver.getVncConsole(guest.uuid);
  assert.equal(vnc.host, '127.0.0.1');
  assert.ok(vnc.port >= 5900, `port ${vnc.port}`);
  assert.match(await rfbVersionAt(vnc.port), /^RFB 003\.00\d\n$/);

  await driver.shutdown();
  driver = await newDriver(VNC);
  assert.deepEqual(await driver.getVncConsole(guest.uuid), vnc);

  await driver.powerOff(guest.uuid, 0);
  await assert.rejects(driver.getVncConsole(guest.uuid), ConsoleTypeUnavailable);
  await driver.destroy(guest.uuid);
});

it('has no console when [vnc] is off', async () => {
  const driver = await newDriver(null);
  const guest = demoGuestInstance(HOST);
  await driver.spawn(guest, HOST);
  await assert.rejects(driver.getVncConsole(guest.uuid), /Unavailable console type vnc\./);
  await driver.destroy(guest.uuid);
});

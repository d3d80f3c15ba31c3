/**
 * The qemu driver's lifecycle events, from what QMP says, for the cases a real guest cannot be made to
 * show on demand: an internal error, a guest panic, qemu vanishing without a SHUTDOWN. Each guest is a
 * guest.json, a stand-in process carrying its uuid (as qemu's command line does) and a scripted QMP
 * socket; the driver finds it as it finds running guests after a compute restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServiceTokenSource } from '../../../../src/compute/image/service-token.ts';
import type { GuestLifecycleEvent } from '../../../../src/compute/virt/driver.ts';
import { writeGuestSpec } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { QemuDriver } from '../../../../src/compute/virt/qemu/qemu-driver.ts';
import { PowerState } from '../../../../src/wire/messages/instance-states.ts';
import { waitUntil } from '../../../helpers/processes.ts';
import { powerOf } from '../../../helpers/qemu-driver-fixtures.ts';
import { testQemuDriverOptions } from '../../../helpers/qemu-driver-options.ts';

const HOST = 'events-host';
let work: string;
const processes: ChildProcess[] = [];
const servers: Server[] = [];
const drivers: QemuDriver[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stratus-qmp-events-'));
});
after(async () => {
  for (const driver of drivers) await driver.shutdown();
  for (const server of servers) server.close();
  for (const child of processes) child.kill('SIGKILL');
  await rm(work, { recursive: true, force: true });
});

/** A scripted QMP monitor: answers the driver's commands with `status`, sends events when told. */
class ScriptedMonitor {
  status = 'running';
  private client: Socket | null = null;
  readonly connected: Promise<void>;

  constructor(readonly server: Server) {
    this.connected = new Promise((resolve) => {
      server.on('connection', (socket) => {
        this.client = socket;
        socket.write(`${JSON.stringify({ QMP: { version: {}, capabilities: [] } })}\n`);
        let buffer = '';
        socket.on('data', (chunk) => {
          buffer += chunk.toString();
          let newline: number;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const command = JSON.parse(buffer.slice(0, newline)) as { execute: string };
            buffer = buffer.slice(newline + 1);
            const answer =
              command.execute === 'query-status' ? { status: this.status, running: this.status === 'running' } : {};
            socket.write(`${JSON.stringify({ return: answer })}\n`);
            if (command.execute === 'query-status') resolve();
          }
        });
      });
    });
  }

  send(event: string, data?: Record<string, unknown>): void {
    this.client!.write(`${JSON.stringify({ event, ...(data ? { data } : {}) })}\n`);
  }

  /** qemu gone: the socket closes with nothing said. */
  vanish(): void {
    this.client!.destroy();
  }
}

/** A driver that finds one scripted guest; returns it with the guest's monitor and events. */
async function driverWithGuest() {
  const instances = await mkdtemp(join(work, 'instances-'));
  const uuid = randomUUID();
  const dir = join(instances, uuid);
  await mkdir(dir);
  await writeGuestSpec(join(dir, 'guest.json'), {
    uuid,
    nodename: HOST,
    vcpus: 1,
    memoryMb: 128,
    disks: [],
    diskDirectory: dir,
    kernel: null,
    ramdisk: null,
    commandLine: null,
    baseFiles: [],
  });
  // The driver knows a guest's qemu by its pid and the uuid on its command line.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', uuid], { stdio: 'ignore' });
  processes.push(child);
  await writeFile(join(dir, 'qemu.pid'), String(child.pid));
  const server = createServer();
  servers.push(server);
  const monitor = new ScriptedMonitor(server);
  await new Promise<void>((resolve) => server.listen(join(dir, 'qmp.sock'), resolve));
  // No image is ever fetched here: the token source points nowhere.
  const tokens = new ServiceTokenSource({
    authUrl: 'http://127.0.0.1:9/v3',
    username: 'unused',
    password: 'unused',
    projectName: 'unused',
    userDomainName: 'Default',
    projectDomainName: 'Default',
    regionName: 'RegionOne',
  });
  const driver = new QemuDriver(testQemuDriverOptions(instances, tokens));
  drivers.push(driver);
  const events: GuestLifecycleEvent[] = [];
  driver.onLifecycleEvent((event) => events.push(event));
  await driver.init(HOST);
  await monitor.connected;
  const power = () => powerOf(driver, uuid);
  assert.equal(power(), PowerState.RUNNING);
  return { uuid, driver, monitor, events, child, power };
}

const reasons = (events: GuestLifecycleEvent[]) => events.map((e) => `${e.reason} ${e.powerState}`);

describe('qemu driver lifecycle events', () => {
  it('a stop that QMP reports as an internal error is a crash', async () => {
    const { monitor, events, power } = await driverWithGuest();
    monitor.status = 'internal-error';
    monitor.send('STOP');
    await waitUntil('the crash event', async () => events.length > 0);
    assert.deepEqual(reasons(events), [`crashed: internal-error ${PowerState.CRASHED}`]);
    assert.equal(power(), PowerState.CRASHED);
  });

  it('a plain pause is no event', async () => {
    const { monitor, events, power } = await driverWithGuest();
    monitor.status = 'paused';
    monitor.send('STOP');
    await waitUntil('the pause seen', async () => power() === PowerState.PAUSED);
    monitor.send('POWERDOWN');
    await waitUntil('the next event', async () => events.length > 0);
    assert.deepEqual(reasons(events), [`powerdown requested ${PowerState.PAUSED}`]);
  });

  it('a guest panic is a crash', async () => {
    const { monitor, events, power } = await driverWithGuest();
    monitor.send('GUEST_PANICKED', { action: 'pause' });
    await waitUntil('the crash event', async () => events.length > 0);
    assert.deepEqual(reasons(events), [`crashed: guest panicked ${PowerState.CRASHED}`]);
    assert.equal(power(), PowerState.CRASHED);
  });

  it('a guest that shuts down is off', async () => {
    const { monitor, events, power } = await driverWithGuest();
    monitor.send('SHUTDOWN', { guest: true, reason: 'guest-shutdown' });
    await waitUntil('the shutdown event', async () => events.length > 0);
    assert.deepEqual(reasons(events), [`shutdown: guest-shutdown ${PowerState.SHUTDOWN}`]);
    assert.equal(power(), PowerState.SHUTDOWN);
  });

  it('a shutdown for a guest panic is a crash', async () => {
    const { monitor, events, power } = await driverWithGuest();
    monitor.send('SHUTDOWN', { guest: true, reason: 'guest-panic' });
    await waitUntil('the event', async () => events.length > 0);
    assert.deepEqual(reasons(events), [`shutdown: guest-panic ${PowerState.CRASHED}`]);
    assert.equal(power(), PowerState.CRASHED);
  });

  it('qemu vanishing without a shutdown is a crash', async () => {
    const { monitor, events, power } = await driverWithGuest();
    monitor.vanish();
    await waitUntil('the crash event', async () => events.length > 0);
    assert.deepEqual(reasons(events), [`crashed: qemu exited without a shutdown ${PowerState.CRASHED}`]);
    assert.equal(power(), PowerState.CRASHED);
  });

  it('a guest whose qemu ends while nobody watches its monitor is off, not crashed', async () => {
    const { driver, events, child, power } = await driverWithGuest();
    await driver.shutdown();
    child.kill('SIGKILL');
    await waitUntil('the process gone', async () => child.exitCode !== null || child.signalCode !== null);
    await waitUntil('the guest seen off', async () => power() === PowerState.SHUTDOWN);
    assert.deepEqual(events, []);
  });
});

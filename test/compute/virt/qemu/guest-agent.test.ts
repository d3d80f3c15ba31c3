import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InstanceAgentNotEnabled } from '../../../../src/common/errors.ts';
import {
  agentCommand,
  guestAgentArguments,
  guestAgentOf,
  setGuestPassword,
} from '../../../../src/compute/virt/qemu/guest-agent.ts';
import { qemuArguments } from '../../../../src/compute/virt/qemu/guest-spec.ts';
import { TCG_MACHINE, TEST_GUEST_FILES, testGuestSpec } from '../../../helpers/guest-spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'stratus-qga-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;

/**
 * A qemu-ga stand-in on a unix socket, speaking its protocol: it ignores what comes before a 0xFF,
 * answers guest-sync-delimited with 0xFF and the id, and `answer` for anything else. `stale` is written
 * first, as a reply a previous client left unread.
 */
async function fakeAgent(
  answer: (cmd: { execute: string; arguments?: Record<string, unknown> }) => object | null,
  stale = '',
): Promise<{ path: string; commands: { execute: string; arguments?: Record<string, unknown> }[]; server: Server }> {
  const path = join(dir, `qga${sockets++}.sock`);
  const commands: { execute: string; arguments?: Record<string, unknown> }[] = [];
  const server = createServer((socket: Socket) => {
    if (stale) socket.write(stale);
    let input = '';
    socket.on('data', (chunk: Buffer) => {
      let text = chunk.toString('latin1');
      const reset = text.lastIndexOf('\xff');
      if (reset >= 0) {
        input = '';
        text = text.slice(reset + 1);
      }
      input += text;
      for (let nl = input.indexOf('\n'); nl >= 0; nl = input.indexOf('\n')) {
        const cmd = JSON.parse(input.slice(0, nl)) as { execute: string; arguments?: Record<string, unknown> };
        input = input.slice(nl + 1);
        commands.push(cmd);
        if (cmd.execute === 'guest-sync-delimited') {
          socket.write(
            Buffer.concat([Buffer.from([0xff]), Buffer.from(`{"return": ${String(cmd.arguments!['id'])}}\n`)]),
          );
          continue;
        }
        const reply = answer(cmd);
        if (reply) socket.write(`${JSON.stringify(reply)}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  after(() => server.close());
  return { path, commands, server };
}

describe('guestAgentOf', () => {
  it('is the image property hw_qemu_guest_agent, with os_admin_user or the OS default', () => {
    assert.equal(guestAgentOf({}), undefined);
    assert.equal(guestAgentOf({ hw_qemu_guest_agent: 'no' }), undefined);
    assert.equal(guestAgentOf({ hw_qemu_guest_agent: 'false' }), undefined);
    assert.deepEqual(guestAgentOf({ hw_qemu_guest_agent: 'yes' }), { adminUser: 'root' });
    assert.deepEqual(guestAgentOf({ hw_qemu_guest_agent: 'True' }), { adminUser: 'root' });
    assert.deepEqual(guestAgentOf({ hw_qemu_guest_agent: 'yes', os_type: 'windows' }), {
      adminUser: 'Administrator',
    });
    assert.deepEqual(guestAgentOf({ hw_qemu_guest_agent: '1', os_admin_user: 'debian' }), { adminUser: 'debian' });
  });
});

describe('guest agent channel', () => {
  it('is a virtio-serial port named org.qemu.guest_agent.0 on the guest socket, before the NICs', () => {
    const spec = testGuestSpec({ nics: [{ portId: 'p1', mac: 'fa:16:3e:00:00:01', tap: 'tap1' }] });
    // A comma in the path: qemu's option syntax needs it doubled.
    const files = { ...TEST_GUEST_FILES, agentSocket: '/g,x/qga.sock' };
    const machine = { ...TCG_MACHINE, machineType: 'q35' };
    assert.equal(qemuArguments(spec, files, machine).join(' ').includes('guest_agent'), false);
    const args = qemuArguments({ ...spec, guestAgent: { adminUser: 'root' } }, files, machine);
    const port = args.indexOf('virtserialport,bus=qga-serial.0,chardev=qga0,name=org.qemu.guest_agent.0');
    assert.ok(port > 0);
    assert.ok(args.includes('socket,id=qga0,path=/g,,x/qga.sock,server=on,wait=off'));
    assert.ok(port < args.findIndex((a) => a.startsWith('virtio-net-pci')), 'the agent comes before the NICs');
    assert.deepEqual(guestAgentArguments('/a/qga.sock').slice(0, 2), [
      '-chardev',
      'socket,id=qga0,path=/a/qga.sock,server=on,wait=off',
    ]);
  });
});

describe('setGuestPassword', () => {
  it('syncs past a stale reply, then sets the admin user password, base64 and not crypted', async () => {
    const agent = await fakeAgent(() => ({ return: {} }), '{"return": 4242}\n{"return": {}}\n');
    await setGuestPassword({ adminUser: 'root' }, agent.path, 'pä$s wörd', 2000);
    assert.equal(agent.commands[0]!.execute, 'guest-sync-delimited');
    assert.deepEqual(agent.commands[1], {
      execute: 'guest-set-user-password',
      arguments: { username: 'root', password: Buffer.from('pä$s wörd').toString('base64'), crypted: false },
    });
  });

  it('refuses a guest without the agent as Nova does, touching nothing', async () => {
    await assert.rejects(
      setGuestPassword(undefined, join(dir, 'none.sock'), 'x', 1000),
      (err: Error) => err instanceof InstanceAgentNotEnabled && err.message === 'QEMU guest agent is not enabled',
    );
  });

  it('fails with what the agent said when it refuses', async () => {
    const agent = await fakeAgent(() => ({
      error: { class: 'GenericError', desc: 'child process has failed to set user password' },
    }));
    await assert.rejects(
      setGuestPassword({ adminUser: 'nobody' }, agent.path, 'x', 2000),
      /GenericError: child process/,
    );
  });

  it('fails, within its timeout, when no agent answers in the guest', async () => {
    const agent = await fakeAgent(() => null);
    // The socket is there (qemu holds it) but nothing answers the sync: the agent is not running.
    const silent = join(dir, 'silent.sock');
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(silent, resolve));
    after(() => server.close());
    await assert.rejects(setGuestPassword({ adminUser: 'root' }, silent, 'x', 200), /did not answer guest-sync/);
    await assert.rejects(agentCommand(agent.path, { execute: 'guest-ping' }, 200), /did not answer guest-ping/);
  });

  it('fails when the channel is not there', async () => {
    await assert.rejects(setGuestPassword({ adminUser: 'root' }, join(dir, 'absent.sock'), 'x', 1000), /ENOENT/);
  });
});

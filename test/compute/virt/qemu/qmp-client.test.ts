/**
 * The QMP client against a real qemu (machine `none`: no guest, starts at once) and against a scripted
 * socket for what qemu does not do on request: errors and a connection lost with a command pending.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { QmpClient, QmpCommandError, type QmpEvent } from '../../../../src/compute/virt/qemu/qmp-client.ts';
import { scriptedQmp } from '../../../helpers/scripted-qmp.ts';

const run = promisify(execFile);
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stratus-qmp-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

function processGone(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, 'utf8').then(
    (stat) => stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z'),
    () => true,
  );
}

describe('QMP client with a real qemu', () => {
  it('negotiates, runs commands in order, follows events and sees qemu quit', async () => {
    const socket = join(work, 'real.sock');
    const pidfile = join(work, 'real.pid');
    await run('qemu-system-x86_64', [
      ...['-machine', 'none', '-nodefaults', '-display', 'none', '-S'],
      ...['-qmp', `unix:${socket},server=on,wait=off`, '-pidfile', pidfile, '-daemonize'],
    ]);
    const pid = Number(await readFile(pidfile, 'utf8'));
    const qmp = await QmpClient.connect(socket);
    const events: string[] = [];
    qmp.onEvent((e: QmpEvent) => events.push(e.event));
    const closed = new Promise<Error>((resolve) => qmp.onClose(resolve));
    try {
      assert.equal((await qmp.execute('query-status', {})).status, 'prelaunch');
      await qmp.execute('cont', {});
      assert.deepEqual(await qmp.execute('query-status', {}), { status: 'running', singlestep: false, running: true });
      await qmp.execute('stop', {});
      assert.equal((await qmp.execute('query-status', {})).running, false);
      await qmp.execute('quit', {});
      await closed;
      assert.deepEqual(events, ['RESUME', 'STOP', 'SHUTDOWN']);
      assert.equal(qmp.closed, true);
      await assert.rejects(qmp.execute('query-status', {}), /closed/);
    } finally {
      if (!(await processGone(pid))) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('QMP client protocol handling', () => {
  it('delivers an event that arrives between a command and its answer, and maps errors', async () => {
    const path = join(work, 'scripted.sock');
    const stop = await scriptedQmp(path, (command, socket) => {
      if (command === 'system_powerdown') {
        socket.write('{"event": "POWERDOWN", "timestamp": {}}\n{"return": {}}\n');
      } else {
        socket.write('{"error": {"class": "GenericError", "desc": "not now"}}\n');
      }
    });
    const qmp = await QmpClient.connect(path);
    const seen: string[] = [];
    qmp.onEvent((e) => seen.push(`event ${e.event}`));
    const first = qmp.execute('system_powerdown', {}).then(() => seen.push('answer system_powerdown'));
    const second = qmp.execute('system_reset', {}).catch((err: unknown) => {
      assert.ok(err instanceof QmpCommandError);
      assert.equal(err.errorClass, 'GenericError');
      assert.equal(err.message, 'QMP system_reset failed: GenericError: not now');
      seen.push('error system_reset');
    });
    await Promise.all([first, second]);
    assert.deepEqual(seen, ['event POWERDOWN', 'answer system_powerdown', 'error system_reset']);
    qmp.close();
    stop();
  });

  it('rejects a pending command when the connection is lost', async () => {
    const path = join(work, 'hangup.sock');
    const stop = await scriptedQmp(path, (_command, socket) => socket.destroy());
    const qmp = await QmpClient.connect(path);
    await assert.rejects(qmp.execute('query-status', {}), /QMP connection closed before query-status answered/);
    assert.equal(qmp.closed, true);
    stop();
  });
});

/**
 * `stratus metadata-proxy` as the datapath starts it: a process driven over its control socket, which
 * validates the table it is handed and cleans up after itself on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../../src/common/package-root.ts';
import { waitUntil } from '../../../helpers/processes.ts';

function control(
  socketPath: string,
  method: string,
  path: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('stratus metadata-proxy', () => {
  let dir: string;
  let child: ChildProcess;
  let socket: string;
  let pidFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratus-mdp-'));
    socket = join(dir, 'ctl.sock');
    pidFile = join(dir, 'pid');
    child = spawn(
      process.execPath,
      [join(packageRoot(), 'bin', 'stratus.js'), 'metadata-proxy', '--control-socket', socket, '--pid-file', pidFile],
      { stdio: 'ignore' },
    );
    await waitUntil('the proxy pid file', async () => existsSync(pidFile), 60_000);
  });

  after(async () => {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('writes its pid once the control socket listens', async () => {
    assert.equal(Number((await readFile(pidFile, 'utf8')).trim()), child.pid);
  });

  it('takes a valid table and answers the port of each network', async () => {
    const table = {
      upstream: 'http://127.0.0.1:8775',
      upstream_socket: null,
      secret: 's',
      networks: [{ id: 'n1', address: '10.0.0.1', guests: [{ ip: '10.0.0.5', instance_uuid: 'u', project_id: 'p' }] }],
    };
    const answer = await control(socket, 'PUT', '/table', JSON.stringify(table));
    assert.equal(answer.status, 200, answer.body);
    const ports = (JSON.parse(answer.body) as { ports: Record<string, number> }).ports;
    assert.deepEqual(Object.keys(ports), ['n1']);
    assert.ok(ports['n1']! > 0);
  });

  it('refuses what is not a table, and unknown paths and methods', async () => {
    assert.equal((await control(socket, 'PUT', '/table', '{"upstream": "ftp://x"}')).status, 400);
    assert.equal((await control(socket, 'PUT', '/table', 'not json')).status, 400);
    assert.equal((await control(socket, 'GET', '/table', '')).status, 405);
    assert.equal((await control(socket, 'PUT', '/other', '{}')).status, 404);
  });

  it('removes its socket and pid file when it stops', async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(socket), false);
    assert.equal(existsSync(pidFile), false);
  });
});

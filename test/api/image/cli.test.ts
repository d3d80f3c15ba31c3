/**
 * End to end with the real `openstack` CLI (Debian package python3-openstackclient) against the image
 * API alone: the CLI's admin_token auth sends a fixed token straight to the endpoint, so no identity
 * service is needed. Covers the calls people make daily: create with a file, list, show, set, save, delete.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startImageApi, TOKENS, type ImageApiHarness } from './helpers.ts';

const run = promisify(execFile);

let h: ImageApiHarness;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  h = await startImageApi({ sizeCap: 16 * 1024 * 1024 });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  work = await mkdtemp(join(tmpdir(), 'stratus-image-cli-'));
  // Only our OS_* settings: a clouds.yaml or OS_CLOUD of the machine must not leak in.
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  Object.assign(env, {
    OS_AUTH_TYPE: 'admin_token',
    OS_TOKEN: TOKENS.alice,
    OS_ENDPOINT: `http://127.0.0.1:${port}/v2`,
    OS_CLIENT_CONFIG_FILE: '/dev/null',
    HOME: work,
  });
});
after(async () => {
  await h.close();
  await rm(work, { recursive: true, force: true });
});

async function openstack(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('openstack', args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('openstack CLI not found: apt-get install python3-openstackclient');
    throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await openstack(...args, '-f', 'json')) as T;

describe('openstack image CLI', () => {
  it('creates from a file, lists, shows, sets properties, saves and deletes', async () => {
    const data = randomBytes(300_000);
    const source = join(work, 'disk.qcow2');
    await writeFile(source, data);

    const created = await json<{ id: string; name: string }>(
      'image',
      'create',
      '--file',
      source,
      '--disk-format',
      'qcow2',
      '--container-format',
      'bare',
      'cli-image',
    );
    assert.equal(created.name, 'cli-image');

    const listed = await json<{ ID: string; Name: string; Status: string }[]>('image', 'list');
    assert.deepEqual(listed, [{ ID: created.id, Name: 'cli-image', Status: 'active' }]);

    await openstack('image', 'set', '--property', 'os_distro=cirros', '--tag', 'blue', 'cli-image');
    const shown = await json<{
      id: string;
      size: number;
      status: string;
      tags: string[];
      properties: Record<string, unknown>;
    }>('image', 'show', 'cli-image');
    assert.equal(shown.id, created.id);
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, data.length);
    assert.deepEqual(shown.tags, ['blue']);
    assert.equal(shown.properties['os_distro'], 'cirros');

    const saved = join(work, 'saved.img');
    await openstack('image', 'save', '--file', saved, created.id);
    assert.ok((await readFile(saved)).equals(data));

    await openstack('image', 'delete', 'cli-image');
    assert.deepEqual(await json('image', 'list'), []);
    assert.deepEqual(await h.storeFiles(), []);
  });
});

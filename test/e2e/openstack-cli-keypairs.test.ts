/**
 * Key pairs through the real `openstack` CLI against one all-in-one cloud on SQLite: a generated pair
 * (private key printed once, readable by ssh-keygen), an imported public key, list, show, delete, and
 * servers created with a key pair, an unknown one refused.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createRawImage, startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { SSH_KEY_VECTORS } from '../helpers/key-vectors.ts';

const run = promisify(execFile);

describe('openstack CLI: key pairs', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-keys-'));
    d = await startAllInOne(dir, cleanup);
    await createRawImage(d.cli, dir, 'key-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'key.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, imports, lists, shows and deletes key pairs', async () => {
    const { cli } = d;
    // Without --public-key the cloud generates the pair and the CLI prints the private key.
    const privateKey = await cli.ok('keypair', 'create', 'k1');
    assert.match(privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+-----END RSA PRIVATE KEY-----\n+$/);
    const keyFile = join(dir, 'k1.pem');
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    const derived = (await run('ssh-keygen', ['-y', '-f', keyFile])).stdout.trim();

    const pubFile = join(dir, 'k2.pub');
    writeFileSync(pubFile, `${SSH_KEY_VECTORS.ed25519.publicKey}\n`);
    const imported = await cli.json<{ name: string; fingerprint: string }>(
      'keypair',
      'create',
      '--public-key',
      pubFile,
      'k2',
    );
    assert.equal(imported.fingerprint, SSH_KEY_VECTORS.ed25519.fingerprint);

    const listed = await cli.json<{ Name: string; Fingerprint: string }[]>('keypair', 'list');
    assert.deepEqual(
      listed.map((k) => k.Name),
      ['k1', 'k2'],
    );
    // `keypair show` leaves the public key out unless asked for it alone.
    const k1 = await cli.json<{ fingerprint: string; user_id: string }>('keypair', 'show', 'k1');
    const k1Public = await cli.ok('keypair', 'show', '--public-key', 'k1');
    assert.equal(k1Public.split(' ').slice(0, 2).join(' '), derived.split(' ').slice(0, 2).join(' '));
    assert.equal(listed.find((k) => k.Name === 'k1')?.Fingerprint, k1.fingerprint);
    const pub = await cli.ok('keypair', 'show', '--public-key', 'k2');
    assert.equal(pub.trim(), SSH_KEY_VECTORS.ed25519.publicKey);

    // Newer microversions: the type column (2.2) and paging (2.35). The SDK follows the next links, so
    // --limit only sizes the pages it reads; --marker starts after k1.
    const paged = await cli.json<{ Name: string; Type: string }[]>(
      '--os-compute-api-version',
      '2.35',
      'keypair',
      'list',
      '--limit',
      '1',
    );
    assert.deepEqual(
      paged.map((k) => [k.Name, k.Type]),
      [
        ['k1', 'ssh'],
        ['k2', 'ssh'],
      ],
    );
    const afterK1 = await cli.json<{ Name: string }[]>(
      '--os-compute-api-version',
      '2.35',
      'keypair',
      'list',
      '--marker',
      'k1',
    );
    assert.deepEqual(
      afterK1.map((k) => k.Name),
      ['k2'],
    );

    const duplicate = await cli.run('keypair', 'create', '--public-key', pubFile, 'k2');
    assert.notEqual(duplicate.code, 0);
    assert.match(duplicate.stderr, /409.*Key pair 'k2' already exists\./);
    const badFile = join(dir, 'bad.pub');
    writeFileSync(badFile, 'ssh-rsa AAAAB3NzaC1yc2E= broken\n');
    const bad = await cli.run('keypair', 'create', '--public-key', badFile, 'k3');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /400.*Keypair data is invalid: failed to generate fingerprint: /);

    await cli.ok('keypair', 'delete', 'k1');
    const missing = await cli.run('keypair', 'show', 'k1');
    assert.notEqual(missing.code, 0);
    assert.deepEqual(
      (await cli.json<{ Name: string }[]>('keypair', 'list')).map((k) => k.Name),
      ['k2'],
    );
  });

  it('creates a server with a key pair and refuses an unknown one', async () => {
    const { cli } = d;
    const server = await cli.json<{ id: string; adminPass: string }>(
      'server',
      'create',
      '--flavor',
      'key.tiny',
      '--image',
      'key-image',
      '--key-name',
      'k2',
      'keyed',
    );
    assert.match(server.adminPass, /^[2-9A-HJ-NP-Za-km-z]{12}$/);
    await waitStatus(cli, server.id, 'ACTIVE');
    const shown = await cli.json<{ key_name: string }>('server', 'show', server.id);
    assert.equal(shown.key_name, 'k2');
    const row = await d.database.db
      .selectFrom('instances')
      .select(['key_data', 'key_type'])
      .where('uuid', '=', server.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { key_data: `${SSH_KEY_VECTORS.ed25519.publicKey}\n`, key_type: 'ssh' });

    const before = await d.database.db.selectFrom('instances').select('uuid').execute();
    const unknown = await cli.run(
      'server',
      'create',
      '--flavor',
      'key.tiny',
      '--image',
      'key-image',
      '--key-name',
      'nope',
      'unkeyed',
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Invalid key_name provided\. \(HTTP 400\)/);
    const afterRows = await d.database.db.selectFrom('instances').select('uuid').execute();
    assert.equal(afterRows.length, before.length);
    await cli.ok('server', 'delete', '--wait', server.id);
  });
});

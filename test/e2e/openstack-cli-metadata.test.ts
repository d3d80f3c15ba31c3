/**
 * The metadata service inside all-in-one, driven as a user and a signing proxy would: a server created
 * with the `openstack` CLI (key pair, user data, --property, a network) reads its metadata; the password
 * the guest posts is what os-server-password then shows.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signInstanceId } from '../../src/api/metadata/identify.ts';
import { createRawImage, startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { SSH_KEY_VECTORS } from '../helpers/key-vectors.ts';

const SECRET = 'e2e-metadata-secret';

describe('openstack CLI: the metadata service of all-in-one', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-metadata-'));
    d = await startAllInOne(dir, cleanup, {
      lines: ['[neutron]', 'service_metadata_proxy = true', `metadata_proxy_shared_secret = ${SECRET}`, '[DEFAULT]'],
    });
    await createRawImage(d.cli, dir, 'md-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'md.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens, and tells a server created with the CLI what it was given', async () => {
    const { cli } = d;
    const root = await fetch(`${d.metadataUrl}/`);
    assert.equal(root.status, 200);
    assert.match(await root.text(), /2009-04-04\nlatest$/);

    const pub = join(dir, 'k.pub');
    writeFileSync(pub, `${SSH_KEY_VECTORS.ed25519.publicKey}\n`);
    await cli.ok('keypair', 'create', '--public-key', pub, 'mdkey');
    await cli.ok('network', 'create', 'mdnet');
    await cli.ok('subnet', 'create', '--network', 'mdnet', '--subnet-range', '10.77.0.0/24', 'mdsub');
    const script = join(dir, 'user-data.sh');
    writeFileSync(script, '#!/bin/sh\necho metadata-e2e\n');
    const created = await cli.json<{ id: string }>(
      'server',
      'create',
      '--image',
      'md-image',
      '--flavor',
      'md.tiny',
      '--key-name',
      'mdkey',
      '--user-data',
      script,
      '--property',
      'role=web',
      '--network',
      'mdnet',
      'md-vm',
    );
    await waitStatus(cli, created.id, 'ACTIVE');
    const shown = await cli.json<{ project_id: string; addresses: Record<string, string[]> }>(
      'server',
      'show',
      created.id,
    );
    const address = shown.addresses['mdnet']![0]!;
    const headers = {
      'X-Instance-ID': created.id,
      'X-Instance-ID-Signature': signInstanceId(SECRET, created.id),
      'X-Tenant-ID': shown.project_id,
      'X-Forwarded-For': address,
    };

    const meta = (await (
      await fetch(`${d.metadataUrl}/openstack/latest/meta_data.json`, { headers })
    ).json()) as Record<string, unknown>;
    assert.equal(meta['uuid'], created.id);
    assert.equal(meta['name'], 'md-vm');
    assert.equal(meta['hostname'], 'md-vm.novalocal');
    assert.deepEqual(meta['meta'], { role: 'web' });
    // The key as the CLI read it from the file, its newline included (Nova stores it as given too).
    assert.deepEqual(meta['public_keys'], { mdkey: `${SSH_KEY_VECTORS.ed25519.publicKey}\n` });
    const userData = await fetch(`${d.metadataUrl}/openstack/latest/user_data`, { headers });
    assert.equal(await userData.text(), '#!/bin/sh\necho metadata-e2e\n');
    const ipv4 = await fetch(`${d.metadataUrl}/latest/meta-data/local-ipv4`, { headers });
    assert.equal(await ipv4.text(), address);

    const forged = await fetch(`${d.metadataUrl}/openstack/latest/meta_data.json`, {
      headers: { ...headers, 'X-Instance-ID-Signature': signInstanceId('guess', created.id) },
    });
    assert.equal(forged.status, 403);

    const posted = await fetch(`${d.metadataUrl}/openstack/latest/password`, { method: 'POST', headers, body: 'ZW5j' });
    assert.equal(posted.status, 200);
    const again = await fetch(`${d.metadataUrl}/openstack/latest/password`, { method: 'POST', headers, body: 'eA==' });
    assert.equal(again.status, 409);
    const token = await cli.ok('token', 'issue', '-f', 'value', '-c', 'id');
    const password = await fetch(`${d.computeUrl}/servers/${created.id}/os-server-password`, {
      headers: { 'X-Auth-Token': token.trim() },
    });
    assert.deepEqual(await password.json(), { password: 'ZW5j' });
  });
});

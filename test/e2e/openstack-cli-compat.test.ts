/**
 * Nova compatibility as the real `openstack` CLI sees it, against separate processes: version discovery
 * finds v2.0 and v2.1 with Nova's range, a server shows Nova's keys only (no Stratus extension key
 * without the Stratus-Extensions header), and the list filters a member may use at a microversion work
 * through the CLI's options.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startMultiProcess, waitStatus, type Deployment } from '../helpers/deployments.ts';

interface VersionRow {
  'Region Name': string;
  'Service Type': string;
  Version: string;
  Status: string;
  'Max Microversion': string | null;
  'Min Microversion': string | null;
}

describe('openstack CLI: Nova compatibility', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let id: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-compat-'));
    d = await startMultiProcess(dir, cleanup, { computeHosts: ['cmp-1'] });
    await createRawImage(d.cli, dir, 'compat-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'compat.small');
    ({ id } = await d.cli.json<{ id: string }>(
      'server',
      'create',
      '--flavor',
      'compat.small',
      '--image',
      'compat-image',
      'compat-vm',
    ));
    await waitStatus(d.cli, id, 'ACTIVE');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('versions show lists v2.0 SUPPORTED and v2.1 CURRENT up to 2.96', async () => {
    const rows = await d.cli.json<VersionRow[]>('versions', 'show', '--service', 'compute', '--interface', 'public');
    const byVersion = new Map(rows.map((r) => [r.Version, r]));
    assert.equal(byVersion.get('2.0')?.Status, 'SUPPORTED');
    assert.equal(byVersion.get('2.1')?.Status, 'CURRENT');
    assert.equal(byVersion.get('2.1')?.['Max Microversion'], '2.96');
    assert.equal(byVersion.get('2.1')?.['Min Microversion'], '2.1');
  });

  it("server show at the newest microversion this CLI knows (2.92) has Nova's keys only", async () => {
    const shown = await d.cli.json<Record<string, unknown>>('--os-compute-api-version', '2.92', 'server', 'show', id);
    assert.ok(!Object.keys(shown).some((k) => k.startsWith('STRATUS')), Object.keys(shown).join(', '));
    assert.equal(shown['OS-DCF:diskConfig'], 'MANUAL');
    assert.deepEqual(shown['server_groups'], [], '2.71 on');
  });

  it('filters lists with the options of the CLI, at the versions that allow them', async () => {
    const list = (...args: string[]) => d.cli.json<{ ID: string }[]>(...args, 'server', 'list');
    const listed = async (...args: string[]) => (await list(...args)).map((s) => s.ID);
    assert.deepEqual(await listed(), [id]);
    const [byName, otherName, zone, otherZone] = await Promise.all([
      d.cli.json<{ ID: string }[]>('server', 'list', '--name', '^compat-'),
      d.cli.json<{ ID: string }[]>('server', 'list', '--name', '^nothing-'),
      d.cli.json<{ ID: string }[]>('--os-compute-api-version', '2.83', 'server', 'list', '--availability-zone', 'nova'),
      d.cli.json<{ ID: string }[]>(
        '--os-compute-api-version',
        '2.83',
        'server',
        'list',
        '--availability-zone',
        'elsewhere',
      ),
    ]);
    assert.deepEqual(
      byName.map((s) => s.ID),
      [id],
    );
    assert.deepEqual(otherName, []);
    assert.deepEqual(
      zone.map((s) => s.ID),
      [id],
    );
    assert.deepEqual(otherZone, []);
    const future = await d.cli.json<{ ID: string }[]>(
      '--os-compute-api-version',
      '2.66',
      'server',
      'list',
      '--changes-before',
      '2000-01-01T00:00:00Z',
    );
    assert.deepEqual(future, []);
  });
});

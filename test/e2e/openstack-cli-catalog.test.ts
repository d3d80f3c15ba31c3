/**
 * The real `openstack` CLI managing the service catalog of an all-in-one cloud: regions, services and
 * endpoints as the operator guide shows them, `catalog list` following each edit, and the edits kept
 * across a restart (which runs the bootstrap again).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { waitUntil } from '../helpers/processes.ts';

interface EndpointRow {
  ID: string;
  Region: string | null;
  'Service Name': string;
  'Service Type': string;
  Enabled: boolean;
  Interface: string;
  URL: string;
}

describe('openstack CLI: the service catalog on all-in-one', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-catalog-'));
    d = await startAllInOne(dir, cleanup);
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The compute endpoints `catalog list` shows, as `region interface url`. */
  const computeInCatalog = async () => {
    type Row = { Type: string; Endpoints: { region: string; interface: string; url: string }[] };
    const compute = (await d.cli.json<Row[]>('catalog', 'list')).find((r) => r.Type === 'compute');
    assert.ok(compute, 'compute is in the catalog');
    return compute.Endpoints.map((e) => `${e.region} ${e.interface} ${e.url}`);
  };

  it('lists the seeded catalog, adds a region and an endpoint in it, and deletes it again', async () => {
    const { cli } = d;
    const regions = await cli.json<{ Region: string }[]>('region', 'list');
    assert.deepEqual(
      regions.map((r) => r.Region),
      ['RegionOne'],
    );
    const services = await cli.json<{ Name: string; Type: string }[]>('service', 'list');
    assert.deepEqual(services.map((s) => `${s.Type}:${s.Name}`).sort(), [
      'compute:nova',
      'identity:keystone',
      'image:glance',
      'network:neutron',
    ]);
    const endpoints = await cli.json<EndpointRow[]>('endpoint', 'list');
    assert.equal(endpoints.length, 12);
    assert.ok(endpoints.every((e) => e.Region === 'RegionOne' && e.Enabled));
    assert.deepEqual(
      endpoints
        .filter((e) => e['Service Type'] === 'compute')
        .map((e) => e.Interface)
        .sort(),
      ['admin', 'internal', 'public'],
    );

    const region = await cli.json<{ region: string; description: string }>(
      ...['region', 'create', '--description', 'the second site', 'RegionTwo'],
    );
    assert.deepEqual([region.region, region.description], ['RegionTwo', 'the second site']);
    assert.deepEqual((await cli.json<{ Region: string }[]>('region', 'list')).map((r) => r.Region).sort(), [
      'RegionOne',
      'RegionTwo',
    ]);

    const created = await cli.json<{ id: string; region: string; service_type: string; url: string }>(
      ...['endpoint', 'create', '--region', 'RegionTwo', 'compute', 'public', 'http://two.example:8774/v2.1'],
    );
    assert.deepEqual(
      [created.region, created.service_type, created.url],
      ['RegionTwo', 'compute', 'http://two.example:8774/v2.1'],
    );
    const inRegionTwo = await cli.json<EndpointRow[]>('endpoint', 'list', '--region', 'RegionTwo');
    assert.deepEqual(
      inRegionTwo.map((e) => e.ID),
      [created.id],
    );
    assert.ok((await computeInCatalog()).includes('RegionTwo public http://two.example:8774/v2.1'));

    // A region holding an endpoint is not deleted.
    const refused = await cli.run('region', 'delete', 'RegionTwo');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /associated endpoints/);

    await cli.ok('endpoint', 'delete', created.id);
    assert.ok(!(await computeInCatalog()).some((e) => e.startsWith('RegionTwo')));
    assert.deepEqual(await cli.json<EndpointRow[]>('endpoint', 'list', '--region', 'RegionTwo'), []);
  });

  it('keeps an edited catalog across a restart, without duplicates', async () => {
    const { cli } = d;
    const created = await cli.json<{ id: string }>(
      ...['endpoint', 'create', '--region', 'RegionTwo', 'compute', 'internal', 'http://two.internal:8774/v2.1'],
    );
    const admin = (await cli.json<EndpointRow[]>('endpoint', 'list', '--service', 'image', '--interface', 'admin'))[0]!;
    await cli.ok('endpoint', 'delete', admin.ID);
    const before = (await cli.json<EndpointRow[]>('endpoint', 'list')).map((e) => e.ID).sort();

    await d.group.stopAll();
    const again = d.group.start('all-in-one', 'stratus', ['--config-file', join(dir, 'base.conf'), 'all-in-one'], {
      OS_BOOTSTRAP_PASSWORD: 'secret',
    });
    await waitUntil(
      'all-in-one restarted',
      async () => again.output().includes('is running'),
      120_000,
      () => again.output().slice(-3000),
    );
    const after = (await cli.json<EndpointRow[]>('endpoint', 'list')).map((e) => e.ID).sort();
    assert.deepEqual(after, before);
    assert.ok(after.includes(created.id));
    assert.ok(!after.includes(admin.ID), 'the deleted endpoint stays deleted');
    assert.equal((await cli.json<unknown[]>('service', 'list')).length, 4);
    assert.ok((await computeInCatalog()).includes('RegionTwo internal http://two.internal:8774/v2.1'));
  });
});

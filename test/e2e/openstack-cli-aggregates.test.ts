/**
 * Host aggregates, availability zones and server groups through the real `openstack` CLI, against one
 * all-in-one cloud on SQLite (its single compute host is `controller`).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, waitStatus, type Deployment } from '../helpers/deployments.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';

describe('openstack CLI: aggregates, availability zones and server groups', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const boot = (...args: string[]) =>
    d.cli.run('server', 'create', '--flavor', 'agg.tiny', '--image', 'agg-image', '-f', 'json', ...args);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-agg-'));
    d = await startAllInOne(dir, cleanup);
    await createRawImage(d.cli, dir, 'agg-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'agg.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('manages an aggregate that makes a zone, and lists the zones', async () => {
    const { cli } = d;
    const created = await cli.json<{ name: string; availability_zone: string; id: number }>(
      'aggregate',
      'create',
      '--zone',
      'az1',
      'agg1',
    );
    assert.equal(created.name, 'agg1');
    assert.equal(created.availability_zone, 'az1');
    await cli.ok('aggregate', 'add', 'host', 'agg1', 'controller');
    await cli.ok('aggregate', 'set', '--property', 'ssd=true', '--property', 'rack=r1', 'agg1');
    await cli.ok('aggregate', 'unset', '--property', 'rack', 'agg1');
    const shown = await cli.json<{ hosts: string[]; properties: Record<string, string>; availability_zone: string }>(
      'aggregate',
      'show',
      'agg1',
    );
    assert.deepEqual(shown.hosts, ['controller']);
    assert.equal(shown.properties['ssd'], 'true');
    assert.equal('rack' in shown.properties, false);
    assert.equal(shown.availability_zone, 'az1');
    const listed = await cli.json<{ Name: string; 'Availability Zone': string }[]>('aggregate', 'list');
    assert.deepEqual(
      listed.map((a) => [a.Name, a['Availability Zone']]),
      [['agg1', 'az1']],
    );

    const duplicate = await cli.run('aggregate', 'create', 'agg1');
    assert.notEqual(duplicate.code, 0);
    assert.match(duplicate.stderr, /409.*Aggregate agg1 already exists/);
    const unknownHost = await cli.run('aggregate', 'add', 'host', 'agg1', 'no-such-host');
    assert.notEqual(unknownHost.code, 0);
    assert.match(unknownHost.stderr, /404.*Compute host no-such-host could not be found/);

    const zones = await cli.json<{ 'Zone Name': string; 'Zone Status': string }[]>(
      'availability',
      'zone',
      'list',
      '--compute',
    );
    // An admin's list comes from the detailed view, with the internal zone; a member's leaves it out.
    assert.deepEqual(
      zones.map((z) => [z['Zone Name'], z['Zone Status']]),
      [
        ['az1', 'available'],
        ['internal', 'available'],
      ],
    );
    await cli.ok('project', 'create', 'plain');
    await cli.ok('user', 'create', '--password', 'pw', '--project', 'plain', 'member1');
    await cli.ok('role', 'add', '--user', 'member1', '--project', 'plain', 'member');
    const member = new OpenstackCli({ ...d.env, OS_USERNAME: 'member1', OS_PASSWORD: 'pw', OS_PROJECT_NAME: 'plain' });
    const seen = await member.json<{ 'Zone Name': string }[]>('availability', 'zone', 'list', '--compute');
    assert.deepEqual(
      seen.map((z) => z['Zone Name']),
      ['az1'],
    );
    const refused = await member.run('aggregate', 'list');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403/);
    const long = await cli.json<{ 'Zone Name': string; 'Host Name': string; 'Service Name': string }[]>(
      'availability',
      'zone',
      'list',
      '--compute',
      '--long',
    );
    assert.ok(
      long.some(
        (z) => z['Zone Name'] === 'az1' && z['Host Name'] === 'controller' && z['Service Name'] === 'stratus-compute',
      ),
      JSON.stringify(long),
    );
    assert.ok(long.some((z) => z['Zone Name'] === 'internal' && z['Service Name'] === 'stratus-conductor'));

    const services = await cli.json<{ Host: string; Binary: string; Zone: string }[]>('compute', 'service', 'list');
    assert.equal(services.find((s) => s.Binary === 'stratus-compute')?.Zone, 'az1');
  });

  it('creates servers into a group and an available zone only', async () => {
    const { cli } = d;
    const group = await cli.json<{ id: string; name: string; policy: string; rules: unknown; members: string }>(
      'server',
      'group',
      'create',
      '--policy',
      'anti-affinity',
      '--rule',
      'max_server_per_host=2',
      'g1',
    );
    assert.equal(group.name, 'g1');
    assert.equal(group.policy, 'anti-affinity');
    assert.match(JSON.stringify(group.rules), /max_server_per_host.*2/);

    const booted = await boot('--hint', `group=${group.id}`, 'grouped');
    assert.equal(booted.code, 0, booted.stderr);
    const server = JSON.parse(booted.stdout) as { id: string };
    const members = (await cli.json<{ members: string }>('server', 'group', 'show', 'g1')).members;
    assert.match(String(members), new RegExp(server.id));
    await waitStatus(cli, server.id, 'ACTIVE');

    const groups = await cli.json<{ ID: string; Name: string }[]>('server', 'group', 'list');
    assert.deepEqual(
      groups.map((g) => g.Name),
      ['g1'],
    );

    // The host is in az1 through its aggregate, so the server lands there (not NoValidHost).
    const zoned = await boot('--availability-zone', 'az1', 'zoned');
    assert.equal(zoned.code, 0, zoned.stderr);
    await waitStatus(cli, JSON.parse(zoned.stdout).id, 'ACTIVE');
    const zonedShown = await cli.json<{ 'OS-EXT-AZ:availability_zone': string }>('server', 'show', 'zoned');
    assert.equal(zonedShown['OS-EXT-AZ:availability_zone'], 'az1');
    const noZone = await boot('--availability-zone', 'nosuch', 'nowhere');
    assert.notEqual(noZone.code, 0);
    assert.match(noZone.stderr, /The requested availability zone is not available \(HTTP 400\)/);
    const noGroup = await boot('--hint', 'group=0b5c8a5e-9f1e-4a48-9d3c-9a1f5bb0b0b0', 'nogroup');
    assert.notEqual(noGroup.code, 0);
    assert.match(
      noGroup.stderr,
      /Instance group 0b5c8a5e-9f1e-4a48-9d3c-9a1f5bb0b0b0 could not be found\. \(HTTP 400\)/,
    );
    const rows = await d.database.db.selectFrom('instances').select('display_name').orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => r.display_name),
      ['grouped', 'zoned'],
      'refused requests created no server',
    );

    await cli.ok('server', 'delete', '--wait', server.id, JSON.parse(zoned.stdout).id);
    await cli.ok('server', 'group', 'delete', 'g1');
    assert.deepEqual(await cli.json<unknown[]>('server', 'group', 'list'), []);
    await cli.ok('aggregate', 'remove', 'host', 'agg1', 'controller');
    await cli.ok('aggregate', 'delete', 'agg1');
    assert.deepEqual(await cli.json<unknown[]>('aggregate', 'list'), []);
  });
});

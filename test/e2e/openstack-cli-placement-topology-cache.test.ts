/**
 * Three compute API additions through the real `openstack` CLI, against an all-in-one cloud on SQLite
 * whose fake compute host has three nodes: create on a named host or node (2.74, admins), a server's
 * topology (2.78, `server show --topology`) and an aggregate's image pre-caching (2.81, `aggregate cache
 * image`), with the refusals a user meets.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';
import { waitUntil } from '../helpers/processes.ts';

describe('openstack CLI: requested destination, topology and image pre-caching', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let member: OpenstackCli;
  let imageId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-dest-'));
    d = await startAllInOne(dir, cleanup, { lines: ['[fake_driver]', 'node_count = 3', '[DEFAULT]'] });
    const { cli } = d;
    imageId = await createRawImage(cli, dir, 'dest-image', 1 << 16);
    await cli.ok('image', 'set', '--public', 'dest-image');
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'dest.tiny');
    await cli.ok('project', 'create', 'demo');
    await cli.ok('user', 'create', '--password', 'secret', 'alice');
    await cli.ok('role', 'add', '--user', 'alice', '--project', 'demo', 'member');
    member = new OpenstackCli({ ...d.env, OS_USERNAME: 'alice', OS_PASSWORD: 'secret', OS_PROJECT_NAME: 'demo' });
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  // From 2.37 a create names its networks; this cloud has none, so its servers go without a NIC.
  const admin274 = (...args: string[]) => ['--os-compute-api-version', '2.74', ...args, '--nic', 'none'];

  it('creates servers on the node and host an admin names, and refuses unknown ones and members', async () => {
    const { cli } = d;
    const nodeOf = async (name: string) =>
      (await cli.json<Record<string, string>>('server', 'show', name))['OS-EXT-SRV-ATTR:hypervisor_hostname'];
    for (const name of ['pin-a', 'pin-b', 'pin-c']) {
      await cli.createServerAndWait(
        ...admin274('--flavor', 'dest.tiny', '--image', 'dest-image', '--hypervisor-hostname', 'controller-node2'),
        name,
      );
      assert.equal(await nodeOf(name), 'controller-node2');
    }
    await cli.createServerAndWait(
      ...admin274('--flavor', 'dest.tiny', '--image', 'dest-image', '--host', 'controller'),
      '--hypervisor-hostname',
      'controller-node1',
      'pin-d',
    );
    assert.equal(await nodeOf('pin-d'), 'controller-node1');

    const unknown = await cli.run(
      ...admin274('server', 'create', '--flavor', 'dest.tiny', '--image', 'dest-image', '--host', 'nowhere', 'x1'),
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Compute host nowhere could not be found.*HTTP 400/s);
    const byMember = await member.run(
      ...admin274('server', 'create', '--flavor', 'dest.tiny', '--image', 'dest-image', '--host', 'controller', 'x2'),
    );
    assert.notEqual(byMember.code, 0);
    assert.match(byMember.stderr, /requested_destination.*HTTP 403/s);
    const early = await cli.run(
      '--os-compute-api-version',
      '2.73',
      'server',
      'create',
      '--flavor',
      'dest.tiny',
      '--image',
      'dest-image',
      '--host',
      'controller',
      'x3',
    );
    assert.notEqual(early.code, 0, 'the CLI itself refuses --host below 2.74');
    const names = (await cli.json<{ Name: string }[]>('server', 'list')).map((s) => s.Name);
    assert.ok(!names.some((n) => n.startsWith('x')), names.join(','));
  });

  it("shows a server's topology from 2.78: no NUMA nodes", async () => {
    await member.createServerAndWait('--flavor', 'dest.tiny', '--image', 'dest-image', 'topo');
    const shown = await member.json<Record<string, unknown>>(
      '--os-compute-api-version',
      '2.78',
      'server',
      'show',
      '--topology',
      'topo',
    );
    assert.deepEqual(shown['topology'], { nodes: [], pagesize_kb: null });
    const early = await member.run('--os-compute-api-version', '2.77', 'server', 'show', '--topology', 'topo');
    assert.notEqual(early.code, 0);
  });

  it("asks an aggregate's hosts to cache images, and refuses unknown images and aggregates", async () => {
    const { cli } = d;
    const at281 = (...args: string[]) => cli.run('--os-compute-api-version', '2.81', ...args);
    await cli.ok('aggregate', 'create', 'warm');
    await cli.ok('aggregate', 'add', 'host', 'warm', 'controller');
    const aio = d.group.get('all-in-one')!;
    const finished = () =>
      aio
        .output()
        .split('\n')
        .filter((l) => l.includes('image pre-caching finished'));

    assert.equal((await at281('aggregate', 'cache', 'image', 'warm', 'dest-image')).code, 0);
    await waitUntil('the first pre-caching logged', async () => finished().length === 1, 30_000);
    assert.match(finished()[0]!, new RegExp(`${imageId}.{0,4}cached`));
    assert.equal((await at281('aggregate', 'cache', 'image', 'warm', 'dest-image')).code, 0);
    await waitUntil('the second pre-caching logged', async () => finished().length === 2, 30_000);
    assert.match(finished()[1]!, new RegExp(`${imageId}.{0,4}existing`));

    const unknownImage = await at281('aggregate', 'cache', 'image', 'warm', '1b9c3f0e-2d4a-4c6b-8e7f-0a1b2c3d4e5f');
    assert.notEqual(unknownImage.code, 0);
    const unknownAggregate = await at281('aggregate', 'cache', 'image', 'nosuch', 'dest-image');
    assert.notEqual(unknownAggregate.code, 0);
    const early = await cli.run(
      '--os-compute-api-version',
      '2.80',
      'aggregate',
      'cache',
      'image',
      'warm',
      'dest-image',
    );
    assert.notEqual(early.code, 0);
    assert.equal(finished().length, 2, 'no refused request reached the host');
  });
});

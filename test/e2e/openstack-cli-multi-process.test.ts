/**
 * The compute API's features through the real `openstack` CLI against separate processes on RabbitMQ
 * and MariaDB (api, conductor, scheduler and one fake-driver compute host): each feature's own e2e test
 * runs on all-in-one over SQLite; this one drives them once more where every call crosses the message
 * bus and the database server (a create on a named host and an aggregate's image pre-caching too).
 * `[DEFAULT] reclaim_instance_interval` is set for every service, so a plain `server delete` soft-deletes
 * (the tests force-delete what they are done with).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createRawImage,
  startMultiProcess,
  waitStatus,
  type Deployment,
  type ServerRow,
} from '../helpers/deployments.ts';
import { SSH_KEY_VECTORS } from '../helpers/key-vectors.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';
import { waitUntil } from '../helpers/processes.ts';

/** Every wait is generous: the machine may be busy with other runs. */
const WAIT_MS = 120_000;

type Shown = Record<string, unknown> & { id: string; status: string };

describe('openstack CLI: compute features against separate processes on RabbitMQ and MariaDB', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let cli: OpenstackCli;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-mp-'));
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: ['cmp-1'],
      // Read by the api (delete soft-deletes) and by the compute host (which reclaims).
      sharedConfig: ['[DEFAULT]', 'reclaim_instance_interval = 3600'],
      // Shelve and backups upload images: the bootstrap admin stands in for compute's service user.
      computeConfig: () => ['[glance]', 'username = admin', 'password = secret', 'project_name = admin'],
    });
    cli = d.cli;
    await createRawImage(cli, dir, 'mp-image', 1 << 16);
    await createRawImage(cli, dir, 'mp-other', 1 << 16);
    await cli.ok('image', 'set', '--public', 'mp-image');
    await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'mp.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const show = (id: string, ...version: string[]) => cli.json<Shown>(...version, 'server', 'show', id);
  const taskOver = (id: string) =>
    waitUntil(`${id} without a task`, async () => (await show(id))['OS-EXT-STS:task_state'] === null, WAIT_MS);
  const forceDelete = async (id: string) => {
    await cli.ok('server', 'delete', '--force', id);
    await waitUntil(`${id} gone`, async () => (await cli.run('server', 'show', id)).code !== 0, WAIT_MS);
  };

  it('creates, lists, shows and deletes key pairs, and boots a server with one', async () => {
    const generated = await cli.ok('keypair', 'create', 'k1');
    assert.match(generated, /-----BEGIN RSA PRIVATE KEY-----[\s\S]+-----END RSA PRIVATE KEY-----/);
    const pubFile = join(dir, 'k2.pub');
    writeFileSync(pubFile, `${SSH_KEY_VECTORS.ed25519.publicKey}\n`);
    const imported = await cli.json<{ fingerprint: string }>('keypair', 'create', '--public-key', pubFile, 'k2');
    assert.equal(imported.fingerprint, SSH_KEY_VECTORS.ed25519.fingerprint);
    const listed = await cli.json<{ Name: string; Fingerprint: string }[]>('keypair', 'list');
    assert.deepEqual(listed.map((k) => k.Name).sort(), ['k1', 'k2']);
    const k2 = await cli.json<{ name: string; fingerprint: string }>('keypair', 'show', 'k2');
    assert.deepEqual([k2.name, k2.fingerprint], ['k2', SSH_KEY_VECTORS.ed25519.fingerprint]);
    assert.equal((await cli.ok('keypair', 'show', '--public-key', 'k2')).trim(), SSH_KEY_VECTORS.ed25519.publicKey);
    await cli.ok('keypair', 'delete', 'k1');
    const gone = await cli.run('keypair', 'show', 'k1');
    assert.notEqual(gone.code, 0);
    assert.deepEqual(
      (await cli.json<{ Name: string }[]>('keypair', 'list')).map((k) => k.Name),
      ['k2'],
    );

    const keyed = await cli.createServerAndWait(
      '--flavor',
      'mp.tiny',
      '--image',
      'mp-image',
      '--key-name',
      'k2',
      'keyed',
    );
    assert.equal(keyed.status, 'ACTIVE');
    assert.equal((await show(keyed.id))['key_name'], 'k2');
    const unknown = await cli.run(
      'server',
      'create',
      '--flavor',
      'mp.tiny',
      '--image',
      'mp-image',
      '--key-name',
      'k1',
      'x',
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Invalid key_name provided\. \(HTTP 400\)/);
    await forceDelete(keyed.id);
  });

  it("shows and sets a project's quotas, refuses the server over them, and shows the limits", async () => {
    await cli.ok('project', 'create', 'mp-quota');
    await cli.ok('user', 'create', '--password', 'pw', '--project', 'mp-quota', 'mp-user');
    await cli.ok('role', 'add', '--user', 'mp-user', '--project', 'mp-quota', 'member');
    const member = new OpenstackCli({
      ...d.env,
      OS_USERNAME: 'mp-user',
      OS_PASSWORD: 'pw',
      OS_PROJECT_NAME: 'mp-quota',
    });
    const initial = await cli.json<Record<string, unknown>>('quota', 'show', 'mp-quota');
    assert.equal(initial['project_name'], 'mp-quota');
    const initialInstances = String(initial['instances']);

    await cli.ok('quota', 'set', '--instances', '1', 'mp-quota');
    assert.equal((await cli.json<Record<string, unknown>>('quota', 'show', 'mp-quota'))['instances'], 1);
    const first = await member.createServerAndWait('--flavor', 'mp.tiny', '--image', 'mp-image', 'q1');
    const refused = await member.run('server', 'create', '--flavor', 'mp.tiny', '--image', 'mp-image', 'q2');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Quota exceeded for instances: Requested 1, but already used 1 of 1 instances/);
    assert.match(refused.stderr, /HTTP 403/);
    const limits = Object.fromEntries(
      (await member.json<{ Name: string; Value: number }[]>('limits', 'show', '--absolute')).map((l) => [
        l.Name,
        l.Value,
      ]),
    );
    assert.deepEqual(
      [limits['maxTotalInstances'], limits['totalInstancesUsed'], limits['totalCoresUsed'], limits['totalRAMUsed']],
      [1, 1, 1, 128],
    );

    await cli.ok('quota', 'set', '--instances', initialInstances, 'mp-quota');
    assert.equal(
      String((await cli.json<Record<string, unknown>>('quota', 'show', 'mp-quota'))['instances']),
      initialInstances,
    );
    const second = await member.createServerAndWait('--flavor', 'mp.tiny', '--image', 'mp-image', 'q2');
    for (const id of [first.id, second.id]) await forceDelete(id);
  });

  it('locks with a reason, tags, and resets the state (admin)', async () => {
    const v273 = ['--os-compute-api-version', '2.73'];
    const vm = await cli.createServerAndWait('--flavor', 'mp.tiny', '--image', 'mp-image', 'admin-vm');
    await cli.ok(...v273, 'server', 'lock', '--reason', 'maintenance', vm.id);
    let shown = await show(vm.id, ...v273);
    assert.deepEqual([shown['locked'], shown['locked_reason']], [true, 'maintenance']);
    await cli.ok(...v273, 'server', 'unlock', vm.id);
    shown = await show(vm.id, ...v273);
    assert.deepEqual([shown['locked'], shown['locked_reason']], [false, null]);

    await cli.ok(...v273, 'server', 'set', '--tag', 'web', '--tag', 'prod', vm.id);
    assert.deepEqual((await show(vm.id, ...v273))['tags'], ['prod', 'web']);
    const tagged = await cli.json<ServerRow[]>(...v273, 'server', 'list', '--tags', 'prod');
    assert.deepEqual(
      tagged.map((s) => s.ID),
      [vm.id],
    );
    await cli.ok(...v273, 'server', 'unset', '--tag', 'prod', vm.id);
    assert.deepEqual((await show(vm.id, ...v273))['tags'], ['web']);

    await cli.ok('server', 'set', '--state', 'error', vm.id);
    await waitStatus(cli, vm.id, 'ERROR', WAIT_MS);
    shown = await show(vm.id);
    assert.deepEqual([shown['OS-EXT-STS:vm_state'], shown['OS-EXT-STS:task_state']], ['error', null]);
    await cli.ok('server', 'set', '--state', 'active', vm.id);
    await waitStatus(cli, vm.id, 'ACTIVE', WAIT_MS);
    const events = await cli.json<{ Action: string }[]>('server', 'event', 'list', vm.id);
    assert.deepEqual(
      events.map((e) => e.Action),
      ['resetState', 'resetState', 'unlock', 'lock', 'create'],
    );
    await forceDelete(vm.id);
  });

  it('rebuilds, rescues, shelves and backs up a server on the compute host', async () => {
    const vm = await cli.createServerAndWait('--flavor', 'mp.tiny', '--image', 'mp-image', 'life-vm');
    const otherId = (await cli.json<{ id: string }>('image', 'show', 'mp-other')).id;

    await cli.ok('server', 'rebuild', '--image', 'mp-other', '--wait', vm.id);
    let shown = await show(vm.id);
    assert.equal(shown.status, 'ACTIVE');
    assert.match(String(shown['image']), new RegExp(otherId));

    await cli.ok('server', 'rescue', vm.id);
    await waitStatus(cli, vm.id, 'RESCUE', WAIT_MS);
    const twice = await cli.run('server', 'rescue', vm.id);
    assert.notEqual(twice.code, 0);
    assert.match(twice.stderr, /HTTP 409/);
    await cli.ok('server', 'unrescue', vm.id);
    await waitStatus(cli, vm.id, 'ACTIVE', WAIT_MS);

    await cli.ok('server', 'shelve', vm.id);
    await waitUntil(
      'SHELVED_OFFLOADED with no task',
      async () => {
        const s = await show(vm.id);
        return s.status === 'SHELVED_OFFLOADED' && s['OS-EXT-STS:task_state'] === null;
      },
      WAIT_MS,
    );
    shown = await show(vm.id);
    assert.equal(shown['OS-EXT-SRV-ATTR:host'], null, 'offloaded from its host');
    await cli.ok('server', 'unshelve', vm.id);
    await waitStatus(cli, vm.id, 'ACTIVE', WAIT_MS);
    await taskOver(vm.id);
    assert.equal((await show(vm.id))['OS-EXT-SRV-ATTR:host'], 'cmp-1');

    // Distinct names: the CLI finds the new backup by name.
    for (const name of ['bk1', 'bk2']) {
      await cli.ok('server', 'backup', 'create', '--type', 'daily', '--rotate', '1', '--name', name, '--wait', vm.id);
      await taskOver(vm.id);
    }
    await waitUntil(
      'the older backup rotated out',
      async () => {
        const names = (await cli.json<{ Name: string }[]>('image', 'list')).map((i) => i.Name);
        return names.includes('bk2') && !names.includes('bk1');
      },
      WAIT_MS,
    );

    const actions = (await cli.json<{ Action: string }[]>('server', 'event', 'list', vm.id)).map((e) => e.Action);
    assert.deepEqual(actions.sort(), [
      'create',
      'createBackup',
      'createBackup',
      'rebuild',
      'rescue',
      'shelve',
      'unrescue',
      'unshelve',
    ]);
    await forceDelete(vm.id);
  });

  it('soft-deletes and restores a server, and force-deletes a soft-deleted one', async () => {
    const vm = await cli.createServerAndWait('--flavor', 'mp.tiny', '--image', 'mp-image', 'soft-vm');
    await cli.ok('server', 'delete', vm.id);
    await waitStatus(cli, vm.id, 'SOFT_DELETED', WAIT_MS);
    assert.equal((await show(vm.id))['OS-EXT-STS:vm_state'], 'soft-delete');
    assert.ok(!(await cli.json<ServerRow[]>('server', 'list')).some((r) => r.ID === vm.id), 'not listed');
    await cli.ok('server', 'restore', vm.id);
    await waitStatus(cli, vm.id, 'ACTIVE', WAIT_MS);
    assert.ok(
      (await cli.json<ServerRow[]>('server', 'list')).some((r) => r.ID === vm.id),
      'listed again',
    );

    await cli.ok('server', 'delete', vm.id);
    await waitStatus(cli, vm.id, 'SOFT_DELETED', WAIT_MS);
    // Deleting a soft-deleted server again soft-deletes it again, as in Nova: it stays restorable.
    await cli.ok('server', 'delete', vm.id);
    await taskOver(vm.id);
    assert.equal((await show(vm.id)).status, 'SOFT_DELETED');
    const actions = await cli.json<{ Action: string }[]>('server', 'event', 'list', vm.id);
    assert.deepEqual(
      actions.map((e) => e.Action),
      ['delete', 'delete', 'restore', 'delete', 'create'],
    );
    // --force deletes it for good.
    await forceDelete(vm.id);
  });

  it('boots on the host an admin names (2.74) and pre-caches an image on an aggregate (2.81)', async () => {
    const placed = await cli.createServerAndWait(
      '--os-compute-api-version',
      '2.74',
      '--nic',
      'none',
      '--flavor',
      'mp.tiny',
      '--image',
      'mp-image',
      '--host',
      'cmp-1',
      'mp-placed',
    );
    assert.equal((await show(placed.id))['OS-EXT-SRV-ATTR:host'], 'cmp-1');
    await forceDelete(placed.id);

    await cli.ok('aggregate', 'create', 'mp-warm');
    await cli.ok('aggregate', 'add', 'host', 'mp-warm', 'cmp-1');
    await cli.ok('--os-compute-api-version', '2.81', 'aggregate', 'cache', 'image', 'mp-warm', 'mp-other');
    const compute = d.group.get('cmp-1')!;
    await waitUntil(
      'cmp-1 logs the pre-caching',
      async () => compute.output().includes('image pre-caching finished'),
      WAIT_MS,
    );
    await cli.ok('aggregate', 'remove', 'host', 'mp-warm', 'cmp-1');
    await cli.ok('aggregate', 'delete', 'mp-warm');
  });

  it('shows usage, the hypervisor, endpoints and regions', async () => {
    const vm = await cli.createServerAndWait('--flavor', 'mp.tiny', '--image', 'mp-image', 'usage-vm');
    const usage = await cli.json<Record<string, unknown>[]>('usage', 'list');
    assert.ok(usage.length >= 1, JSON.stringify(usage));
    assert.ok(
      usage.every((row) => Number(row['CPU Hours']) >= 0),
      JSON.stringify(usage),
    );

    const hypervisor = await cli.json<Record<string, unknown>>('hypervisor', 'show', 'cmp-1');
    const line = JSON.stringify(hypervisor);
    assert.equal(hypervisor['state'], 'up', line);
    assert.equal(hypervisor['status'], 'enabled', line);
    // The count is the host's last resource report: usage-vm alone, once reported.
    await waitUntil(
      'the hypervisor reports usage-vm alone',
      async () => (await cli.json<Record<string, unknown>>('hypervisor', 'show', 'cmp-1'))['running_vms'] === 1,
      WAIT_MS,
    );
    assert.match(String(hypervisor['host_time']), /^\d\d:\d\d:\d\d$/, line);

    const regions = await cli.json<{ Region: string }[]>('region', 'list');
    assert.deepEqual(
      regions.map((r) => r.Region),
      ['RegionOne'],
    );
    const endpoints = await cli.json<{ 'Service Type': string; Interface: string; URL: string }[]>('endpoint', 'list');
    const compute = endpoints.filter((e) => e['Service Type'] === 'compute');
    assert.deepEqual(compute.map((e) => e.Interface).sort(), ['admin', 'internal', 'public']);
    assert.ok(
      compute.every((e) => e.URL.startsWith(d.computeUrl.replace(/\/v2\.1$/, ''))),
      JSON.stringify(compute),
    );
    await forceDelete(vm.id);
  });
});

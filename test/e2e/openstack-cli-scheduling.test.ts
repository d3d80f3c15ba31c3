/**
 * Where servers land, through the real `openstack` CLI against separate processes on RabbitMQ and
 * MariaDB with three compute hosts (cmp-1..3): an aggregate's availability zone, strict server groups,
 * same_host / different_host, flavor extra specs matched against aggregate metadata, a request no host
 * can take (ERROR, and the per-filter counts in the scheduler's log), and hints the API refuses.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import {
  createRawImage,
  startMultiProcess,
  waitStatus,
  type Deployment,
  type ServerRow,
} from '../helpers/deployments.ts';
import { waitUntil } from '../helpers/processes.ts';

// The default filters and those that read the hints and aggregate metadata this test uses.
const FILTERS = [
  ...loadConfig([]).filter_scheduler.enabled_filters,
  'SameHostFilter',
  'DifferentHostFilter',
  'AggregateInstanceExtraSpecsFilter',
];

describe('openstack CLI: where the scheduler puts servers', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;

  const create = async (name: string, ...args: string[]) => {
    const flavor = args.includes('--flavor') ? [] : ['--flavor', 'sched.tiny'];
    const result = await d.cli.run(
      'server',
      'create',
      ...flavor,
      '--image',
      'sched-image',
      '-f',
      'json',
      ...args,
      name,
    );
    return result;
  };
  /** Creates servers (`--min/--max` in args for several) and waits for them; returns the host of each, by name. */
  const boot = async (name: string, ...args: string[]): Promise<Map<string, string>> => {
    const result = await create(name, ...args);
    assert.equal(result.code, 0, result.stderr);
    const rows = await waitUntil(
      `servers ${name}* settled`,
      async () => {
        const list = await d.cli.json<ServerRow[]>('server', 'list', '--long', '--name', `^${name}(-[0-9]+)?$`);
        return list.length && list.every((s) => s.Status === 'ACTIVE' || s.Status === 'ERROR') ? list : null;
      },
      60_000,
    );
    for (const row of rows) {
      if (row.Status === 'ACTIVE') continue;
      const shown = await d.cli.json<{ fault?: { message?: string } }>('server', 'show', row.Name);
      assert.fail(`${row.Name} went to ${row.Status}: ${shown.fault?.message ?? 'no fault recorded'}`);
    }
    return new Map(rows.map((r) => [r.Name, r.Host ?? '']));
  };
  const idOf = async (name: string) => (await d.cli.json<{ id: string }>('server', 'show', name)).id;
  const schedulerLog = () => d.group.get('scheduler')?.output() ?? '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-sched-'));
    d = await startMultiProcess(dir, cleanup, {
      sharedConfig: ['[filter_scheduler]', `enabled_filters = ${FILTERS.join(',')}`],
    });
    await createRawImage(d.cli, dir, 'sched-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'sched.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates a server into an aggregate's availability zone", async () => {
    await d.cli.ok('aggregate', 'create', '--zone', 'az1', 'rack1');
    await d.cli.ok('aggregate', 'add', 'host', 'rack1', 'cmp-2');
    const hosts = await boot('zoned', '--availability-zone', 'az1', '--min', '2', '--max', '2');
    assert.deepEqual([...hosts.values()], ['cmp-2', 'cmp-2']);
    const shown = await d.cli.json<{ 'OS-EXT-AZ:availability_zone': string }>('server', 'show', 'zoned-1');
    assert.equal(shown['OS-EXT-AZ:availability_zone'], 'az1');
  });

  it('spreads an anti-affinity group over the hosts and stacks an affinity group', async () => {
    const anti = await d.cli.json<{ id: string }>('server', 'group', 'create', '--policy', 'anti-affinity', 'spread');
    const spread = await boot('spread', '--hint', `group=${anti.id}`, '--min', '3', '--max', '3');
    assert.deepEqual([...spread.values()].sort(), ['cmp-1', 'cmp-2', 'cmp-3']);

    // A fourth member has no host left: ERROR with Nova's fault, and the scheduler logs which filter removed the hosts.
    const fourth = await create('spread-extra', '--hint', `group=${anti.id}`);
    assert.equal(fourth.code, 0, fourth.stderr);
    const id = (JSON.parse(fourth.stdout) as { id: string }).id;
    await waitStatus(d.cli, id, 'ERROR');
    const shown = await d.cli.json<{ fault: { message: string } }>('server', 'show', id);
    assert.match(shown.fault.message, /No valid host was found/);
    assert.match(
      schedulerLog(),
      new RegExp(
        `Filtering removed all hosts for the request with instance ID '${id}'.*'ServerGroupAntiAffinityFilter: \\(start: 3, end: 0\\)'`,
      ),
    );

    const aff = await d.cli.json<{ id: string }>('server', 'group', 'create', '--policy', 'affinity', 'stack');
    const stacked = await boot('stack', '--hint', `group=${aff.id}`, '--min', '2', '--max', '2');
    assert.equal(new Set(stacked.values()).size, 1, JSON.stringify([...stacked]));
    const later = await boot('stack-later', '--hint', `group=${aff.id}`);
    assert.deepEqual([...later.values()], [...stacked.values()].slice(0, 1));
  });

  it('places next to or away from given servers with same_host and different_host', async () => {
    const anchor = await idOf('zoned-1'); // on cmp-2
    const near = await boot('near', '--hint', `same_host=${anchor}`);
    assert.deepEqual([...near.values()], ['cmp-2']);
    const away = await boot('away', '--hint', `different_host=${anchor}`, '--min', '2', '--max', '2');
    for (const host of away.values()) assert.notEqual(host, 'cmp-2');
  });

  it("steers a flavor with aggregate_instance_extra_specs onto the aggregate's hosts", async () => {
    await d.cli.ok('aggregate', 'create', 'fast');
    await d.cli.ok('aggregate', 'add', 'host', 'fast', 'cmp-3');
    await d.cli.ok('aggregate', 'set', '--property', 'ssd=true', 'fast');
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'sched.ssd');
    await d.cli.ok('flavor', 'set', '--property', 'aggregate_instance_extra_specs:ssd=true', 'sched.ssd');
    const hosts = await boot('ssd', '--flavor', 'sched.ssd', '--min', '2', '--max', '2');
    assert.deepEqual([...hosts.values()], ['cmp-3', 'cmp-3']);

    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'sched.gpu');
    await d.cli.ok('flavor', 'set', '--property', 'aggregate_instance_extra_specs:gpu=true', 'sched.gpu');
    const none = await create('gpu', '--flavor', 'sched.gpu');
    const id = (JSON.parse(none.stdout) as { id: string }).id;
    await waitStatus(d.cli, id, 'ERROR');
    assert.match(
      schedulerLog(),
      new RegExp(`instance ID '${id}'.*'AggregateInstanceExtraSpecsFilter: \\(start: 3, end: 0\\)'`),
    );
  });

  it('refuses bad hints with a 400 and creates nothing', async () => {
    const before = (await d.cli.json<ServerRow[]>('server', 'list')).length;
    const notUuid = await create('bad-same', '--hint', 'same_host=web-1');
    assert.notEqual(notUuid.code, 0);
    assert.match(notUuid.stderr, /same_host.*\(HTTP 400\)/s);
    const badGroup = await create('bad-group', '--hint', 'group=spread');
    assert.notEqual(badGroup.code, 0);
    assert.match(badGroup.stderr, /group.*\(HTTP 400\)/s);
    const badQuery = await create('bad-query', '--hint', 'query=[">=", "$free_ram_mb"');
    assert.notEqual(badQuery.code, 0);
    assert.match(badQuery.stderr, /query.*not valid JSON.*\(HTTP 400\)/s);
    assert.equal((await d.cli.json<ServerRow[]>('server', 'list')).length, before);
  });
});

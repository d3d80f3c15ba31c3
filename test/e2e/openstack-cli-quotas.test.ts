/**
 * Quotas through the real `openstack` CLI against an all-in-one cloud with Nova's default quotas: an
 * admin shows and sets a project's quotas, a member of the project reads its absolute limits and is
 * refused the server past its quota, with the quota named.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startAllInOne, type Deployment } from '../helpers/deployments.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';

describe('openstack CLI: quotas and limits', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  let member: OpenstackCli;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-quota-'));
    // Nova's defaults, over the unlimited servers the test deployments otherwise get.
    d = await startAllInOne(dir, cleanup, {
      lines: ['[quota]', 'instances = 10', 'cores = 20', 'ram = 51200'],
    });
    await createRawImage(d.cli, dir, 'quota-image', 1 << 16);
    await d.cli.ok('image', 'set', '--public', 'quota-image');
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'quota.tiny');
    await d.cli.ok('project', 'create', 'quota-p');
    await d.cli.ok('user', 'create', '--password', 'pw', '--project', 'quota-p', 'quota-u');
    await d.cli.ok('role', 'add', '--user', 'quota-u', '--project', 'quota-p', 'member');
    member = new OpenstackCli({
      ...d.env,
      OS_USERNAME: 'quota-u',
      OS_PASSWORD: 'pw',
      OS_PROJECT_NAME: 'quota-p',
    });
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows and sets a project's quotas, and enforces them", async () => {
    const shown = await d.cli.json<Record<string, unknown>>('quota', 'show', 'quota-p');
    assert.equal(shown['instances'], 10);
    assert.equal(shown['cores'], 20);
    assert.equal(shown['ram'], 51200);
    assert.equal(shown['project_name'], 'quota-p');

    await d.cli.ok('quota', 'set', '--instances', '2', '--cores', '3', 'quota-p');
    const set = await d.cli.json<Record<string, unknown>>('quota', 'show', 'quota-p');
    assert.deepEqual([set['instances'], set['cores'], set['ram']], [2, 3, 51200]);

    // The member sees their own project's limits and usage.
    const limits = async () =>
      Object.fromEntries(
        (await member.json<{ Name: string; Value: number }[]>('limits', 'show', '--absolute')).map((l) => [
          l.Name,
          l.Value,
        ]),
      );
    const before = await limits();
    assert.deepEqual([before['maxTotalInstances'], before['maxTotalCores'], before['totalInstancesUsed']], [2, 3, 0]);

    for (const name of ['q1', 'q2']) {
      await member.ok('server', 'create', '--flavor', 'quota.tiny', '--image', 'quota-image', name);
    }
    const refused = await member.run('server', 'create', '--flavor', 'quota.tiny', '--image', 'quota-image', 'q3');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Quota exceeded for instances: Requested 1, but already used 2 of 2 instances/);
    assert.match(refused.stderr, /HTTP 403/);

    const after = await limits();
    assert.deepEqual([after['totalInstancesUsed'], after['totalCoresUsed'], after['totalRAMUsed']], [2, 2, 256]);

    const detail = await d.cli.json<{ Resource: string; 'In Use': number; Limit: number }[]>(
      'quota',
      'list',
      '--compute',
      '--detail',
      '--project',
      'quota-p',
    );
    const instances = detail.find((row) => row.Resource === 'instances');
    assert.deepEqual([instances?.['In Use'], instances?.Limit], [2, 2]);

    // The defaults stay Nova's, unless the default class changes them.
    const defaults = await d.cli.json<Record<string, unknown>>('quota', 'show', '--default', 'quota-p');
    assert.deepEqual([defaults['instances'], defaults['cores']], [10, 20]);
    await d.cli.ok('quota', 'set', '--class', '--instances', '15', 'default');
    const changed = await d.cli.json<Record<string, unknown>>('quota', 'show', '--default', 'quota-p');
    assert.equal(changed['instances'], 15);
  });
});

/**
 * The real `openstack` CLI against Stratus, as a user would drive it: once against separate processes on
 * RabbitMQ and MariaDB (api, conductor, scheduler, three compute hosts), once against all-in-one on SQLite.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createRawImage,
  startAllInOne,
  startMultiProcess,
  waitStatus,
  type Deployment,
  type ServerRow,
} from '../helpers/deployments.ts';
import { OpenstackCli } from '../helpers/openstack-cli.ts';
import { waitUntil } from '../helpers/processes.ts';

function cliScenario(name: string, start: (dir: string, cleanup: (() => Promise<void>)[]) => Promise<Deployment>) {
  describe(name, () => {
    let dir: string;
    const cleanup: (() => Promise<void>)[] = [];
    let d: Deployment;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-'));
      d = await start(dir, cleanup);
    });
    after(async () => {
      for (const fn of cleanup) await fn().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    it('boots, lists, powers and deletes servers through the CLI', async () => {
      const { cli } = d;
      const token = await cli.json<{ expires: string; project_id: string }>('token', 'issue');
      assert.ok(token.project_id);
      const imageId = await createRawImage(cli, dir, 'e2e-image');
      const shown = await cli.json<{ status: string; checksum: string }>('image', 'show', imageId);
      assert.equal(shown.status, 'active');
      await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '256', '--disk', '1', 'e2e.tiny');
      const flavors = await cli.json<{ Name: string }[]>('flavor', 'list');
      assert.ok(flavors.some((f) => f.Name === 'e2e.tiny'));

      const one = await cli.json<{ id: string }>(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        'solo',
      );
      await waitStatus(cli, one.id, 'ACTIVE');
      await cli.ok(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        '--min',
        '10',
        '--max',
        '10',
        'many',
      );
      await waitUntil(
        'eleven servers ACTIVE',
        async () => {
          const rows = await cli.json<ServerRow[]>('server', 'list');
          return rows.length === 11 && rows.every((r) => r.Status === 'ACTIVE');
        },
        60_000,
      );
      const detailed = await cli.json<ServerRow[]>('server', 'list', '--long');
      const hosts = new Set(detailed.map((r) => r.Host));
      assert.deepEqual([...hosts].sort(), [...d.computeHosts].sort(), 'servers spread over every compute host');

      const server = await cli.json<Record<string, unknown>>('server', 'show', 'solo');
      assert.equal(server['status'], 'ACTIVE');
      assert.equal(server['OS-EXT-STS:vm_state'], 'active');
      await cli.ok('server', 'stop', 'solo');
      await waitStatus(cli, one.id, 'SHUTOFF');
      const wrongState = await cli.run('server', 'stop', 'solo');
      assert.notEqual(wrongState.code, 0);
      assert.match(wrongState.stderr, /409/);
      await cli.ok('server', 'start', 'solo');
      await waitStatus(cli, one.id, 'ACTIVE');
      await cli.ok('server', 'reboot', 'solo');
      await waitStatus(cli, one.id, 'ACTIVE');
      await cli.ok('server', 'reboot', '--hard', 'solo');
      await waitStatus(cli, one.id, 'ACTIVE');

      const services = await cli.json<{ Binary: string; State: string }[]>('compute', 'service', 'list');
      for (const binary of ['stratus-conductor', 'stratus-scheduler', 'stratus-compute']) {
        assert.ok(
          services.some((s) => s.Binary === binary && s.State === 'up'),
          `${binary} listed and up`,
        );
      }
      const hypervisors = await cli.json<{ 'Hypervisor Hostname': string }[]>('hypervisor', 'list');
      assert.equal(hypervisors.length, d.computeHosts.length);

      const all = await cli.json<ServerRow[]>('server', 'list');
      await cli.ok('server', 'delete', '--wait', ...all.map((s) => s.ID));
      assert.deepEqual(await cli.json<ServerRow[]>('server', 'list'), []);
      const held = await d.database.db.selectFrom('allocations').selectAll().execute();
      assert.equal(held.length, 0, 'every allocation freed after delete');
    });

    it('answers bad input with the right 4xx and creates nothing', async () => {
      const { cli } = d;
      const before = await d.database.db.selectFrom('instances').select('uuid').execute();
      const badFlavor = await cli.run('server', 'create', '--flavor', 'no-such-flavor', '--image', 'e2e-image', 'x');
      assert.match(badFlavor.stderr, /No flavor with a name or ID of 'no-such-flavor' exists/);
      const badImage = await cli.run('server', 'create', '--flavor', 'e2e.tiny', '--image', 'no-such-image', 'x');
      assert.match(badImage.stderr, /No Image found for no-such-image/);
      const longName = await cli.run(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        'n'.repeat(256),
      );
      assert.match(longName.stderr, /HTTP 400/);

      const token = (await cli.json<{ id: string }>('token', 'issue')).id;
      const post = (body: unknown, headers: Record<string, string> = { 'x-auth-token': token }) =>
        fetch(`${d.computeUrl}/servers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const flavorId = (await cli.json<{ id: string }>('flavor', 'show', 'e2e.tiny')).id;
      const imageId = (await cli.json<{ id: string }>('image', 'show', 'e2e-image')).id;
      const good = { name: 'x', flavorRef: flavorId, imageRef: imageId };
      const noToken = await post({ server: good }, {});
      assert.equal(noToken.status, 401);
      const extra = await post({ server: { ...good, bogus: 1 } });
      assert.equal(extra.status, 400);
      assert.match(JSON.stringify(await extra.json()), /bogus/);
      const wrongType = await post({ server: { ...good, name: 42 } });
      assert.equal(wrongType.status, 400);
      const badUuid = await fetch(`${d.computeUrl}/servers/not-a-uuid`, { headers: { 'x-auth-token': token } });
      assert.equal(badUuid.status, 404);

      // A token of another project sees nothing of this one.
      await cli.ok('project', 'create', 'other');
      await cli.ok('user', 'create', '--password', 'pw', '--project', 'other', 'outsider');
      await cli.ok('role', 'add', '--user', 'outsider', '--project', 'other', 'member');
      const mine = await cli.json<{ id: string }>(
        'server',
        'create',
        '--flavor',
        'e2e.tiny',
        '--image',
        'e2e-image',
        'private',
      );
      const outsider = new OpenstackCli({
        ...d.env,
        OS_USERNAME: 'outsider',
        OS_PASSWORD: 'pw',
        OS_PROJECT_NAME: 'other',
      });
      const theirs = await outsider.run('server', 'show', mine.id);
      assert.notEqual(theirs.code, 0);
      assert.match(theirs.stderr, /No server with a name or ID/);
      assert.deepEqual(await outsider.json<ServerRow[]>('server', 'list'), []);
      await cli.ok('server', 'delete', '--wait', mine.id);

      const afterRows = await d.database.db
        .selectFrom('instances')
        .select('uuid')
        .where('display_name', '!=', 'private')
        .execute();
      assert.equal(afterRows.length, before.length, 'bad requests created no instance');
    });
  });
}

cliScenario('openstack CLI against separate processes on RabbitMQ and MariaDB', startMultiProcess);
cliScenario('openstack CLI against all-in-one on SQLite', startAllInOne);

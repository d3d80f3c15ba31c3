/**
 * A rolling upgrade, as docs/operator-guide.md orders it (database, conductor, scheduler, api, computes):
 * the previous release's compute service, built from this repository's history, runs against this
 * release's api, conductor and scheduler on RabbitMQ and MariaDB (schema migrated by this release), and
 * servers boot and delete through it; then that compute is upgraded in place and does it again.
 *
 * The previous release is the tag v0.1.0 if this clone has it, else the commit it names (a fresh clone
 * may lack tags): its sources are extracted with `git archive` into a scratch directory that shares this
 * checkout's node_modules and builds its own dist/.
 */
import { strict as assert } from 'node:assert';
import { packageRoot } from '../../src/common/package-root.ts';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SERVICE_VERSION } from '../../src/wire/service-versions.ts';
import { createRawImage, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import { waitUntil } from '../helpers/processes.ts';

const run = promisify(execFile);
const ROOT = packageRoot();
/** The first release: the tag, or the commit it was cut from when the clone has no tags. */
const PREVIOUS_RELEASE = { tag: 'v0.1.0', commit: 'b79f42317c47a7dbf6aa8e57c9e408b751837782' };

async function previousReleaseCommit(): Promise<string> {
  const tagged = await run('git', ['rev-parse', '--verify', '--quiet', `${PREVIOUS_RELEASE.tag}^{commit}`], {
    cwd: ROOT,
  }).then(
    ({ stdout }) => stdout.trim(),
    () => null,
  );
  return tagged ?? PREVIOUS_RELEASE.commit;
}

/** The previous release's sources in `dir`, with this checkout's node_modules and a build of its own. */
async function checkOutPreviousRelease(dir: string): Promise<void> {
  mkdirSync(dir);
  const archive = `${dir}.tar`;
  await run('git', ['archive', '--format=tar', '-o', archive, await previousReleaseCommit()], { cwd: ROOT });
  await run('tar', ['-xf', archive, '-C', dir]);
  rmSync(archive);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await run(process.execPath, [join(dir, 'scripts', 'build.mjs')], { cwd: dir });
}

describe('rolling upgrade: the previous release compute against this release', () => {
  let dir: string;
  const cleanup: (() => Promise<void>)[] = [];
  let d: Deployment;
  const previous = () => join(dir, 'previous-release');
  const conf = (...names: string[]) => names.flatMap((n) => ['--config-file', join(dir, n)]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-e2e-upgrade-'));
    await checkOutPreviousRelease(previous());
    d = await startMultiProcess(dir, cleanup, {
      computeHosts: ['cmp-1'],
      computeRoot: () => previous(),
      // What the operator sets while computes of two releases run: send what the oldest one reads.
      controllerConfig: ['[upgrade_levels]', 'compute = auto', 'conductor = auto', 'scheduler = auto'],
    });
    await createRawImage(d.cli, dir, 'upgrade-image', 1 << 16);
    await d.cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '128', '--disk', '1', 'upgrade.tiny');
  });
  after(async () => {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const serviceVersion = async (binary: string, host: string) =>
    (
      await d.database.db
        .selectFrom('services')
        .select('version')
        .where('binary', '=', binary)
        .where('host', '=', host)
        .executeTakeFirst()
    )?.version;

  /** Boots two servers, checks they run on cmp-1, deletes them and waits until they are gone. */
  async function bootAndDelete(prefix: string): Promise<void> {
    const names = [`${prefix}-a`, `${prefix}-b`];
    for (const name of names) {
      const server = await d.cli.createServerAndWait('--flavor', 'upgrade.tiny', '--image', 'upgrade-image', name);
      assert.equal(server.status, 'ACTIVE', name);
      assert.equal(server['OS-EXT-SRV-ATTR:host'], 'cmp-1', name);
    }
    await d.cli.ok('server', 'delete', '--wait', ...names);
    const left = await d.cli.json<{ Name: string }[]>('server', 'list', '--name', `^${prefix}-`);
    assert.deepEqual(left, []);
  }

  it("boots and deletes servers through the previous release's compute", async () => {
    assert.equal(await serviceVersion('stratus-compute', 'cmp-1'), 1, 'it reports no version: the first release');
    assert.equal(await serviceVersion('stratus-conductor', 'controller'), SERVICE_VERSION);
    await bootAndDelete('before');
    // The conductor found from the services' records that the computes read compute 1.0.
    assert.match(d.group.get('conductor')!.output(), /\[upgrade_levels\] compute = auto: sending compute 1\.0/);
  });

  it('upgrades that compute in place, which then does the same and reports this release', async () => {
    const old = d.group.get('cmp-1')!;
    old.child.kill('SIGTERM');
    assert.equal(await old.exited, 0, 'the old compute drains and exits');
    const upgraded = d.group.start('cmp-1 upgraded', 'stratus', [...conf('base.conf', 'cmp-1.conf'), 'compute']);
    await waitUntil(
      "cmp-1 reports this release's service version",
      async () => (await serviceVersion('stratus-compute', 'cmp-1')) === SERVICE_VERSION,
      120_000,
      () => upgraded.output().slice(-3000),
    );
    await bootAndDelete('after');
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error: a plain JavaScript module (the launchers import it before any TypeScript loads)
import { ensureBuilt, ensureDashboardBuilt } from '../../scripts/build.mjs';

const build = ensureBuilt as (root: string) => Promise<string>;
const buildDashboard = ensureDashboardBuilt as (root: string) => Promise<string>;

/** A checkout of two commands that print what they are, as src/cmd/*.ts are for Stratus. */
function writeSources(root: string, version: string): void {
  mkdirSync(join(root, 'src', 'cmd'), { recursive: true });
  writeFileSync(join(root, 'src', 'shared.ts'), `export const version: string = '${version}';\n`);
  for (const name of ['stratus', 'stratus-manage']) {
    writeFileSync(
      join(root, 'src', 'cmd', `${name}.ts`),
      `import { version } from '../shared.ts';\nconsole.log('${name} ' + version);\n`,
    );
  }
}

function run(dir: string, name: string): string {
  return execFileSync(process.execPath, [join(dir, `${name}.js`)], { encoding: 'utf8' }).trim();
}

describe('scripts/build.mjs', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'stratus-build-'));
    writeSources(root, 'one');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('builds runnable commands once for the same sources', async () => {
    const dir = await build(root);
    assert.equal(run(dir, 'stratus'), 'stratus one');
    assert.equal(run(dir, 'stratus-manage'), 'stratus-manage one');
    const builtAt = statSync(join(dir, 'stratus.js')).mtimeMs;
    assert.equal(await build(root), dir);
    assert.equal(statSync(join(dir, 'stratus.js')).mtimeMs, builtAt, 'not built again');
  });

  it('keeps class names that bundling would rename (errors are known by name)', async () => {
    const named = mkdtempSync(join(tmpdir(), 'stratus-build-'));
    try {
      writeSources(named, 'one');
      // The shape of src/common/errors.ts: a binding and the class it holds share a name.
      writeFileSync(
        join(named, 'src', 'cmd', 'stratus.ts'),
        'const declare = <T>(c: T): T => c;\nconst Fault = declare(class Fault extends Error {});\nconsole.log(new Fault("x").constructor.name);\n',
      );
      assert.equal(run(await build(named), 'stratus'), 'Fault');
    } finally {
      rmSync(named, { recursive: true, force: true });
    }
  });

  it('builds again when a source changes, so a stale copy never runs', async () => {
    const before = await build(root);
    writeSources(root, 'two');
    // Some filesystems keep coarse times: make sure the change shows in the modification time.
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'src', 'shared.ts'), later, later);
    const after = await build(root);
    assert.notEqual(after, before);
    assert.equal(run(after, 'stratus'), 'stratus two');
  });

  it('gives processes building the same sources at once one whole build, and leaves no scratch behind', async () => {
    writeSources(root, 'three');
    const later = new Date(Date.now() + 10_000);
    utimesSync(join(root, 'src', 'shared.ts'), later, later);
    const dirs = await Promise.all(Array.from({ length: 4 }, () => build(root)));
    assert.equal(new Set(dirs).size, 1);
    assert.equal(run(dirs[0]!, 'stratus'), 'stratus three');
    assert.deepEqual(
      readdirSync(join(root, 'dist')).filter((name) => name.includes('.tmp-')),
      [],
    );
  });
});

describe('scripts/build.mjs: the dashboard', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'stratus-build-dashboard-'));
    mkdirSync(join(root, 'dashboard', 'src'), { recursive: true });
    writeFileSync(
      join(root, 'dashboard', 'index.html'),
      '<!doctype html><div id="root"></div><script type="module" src="./src/main.ts"></script>',
    );
    writeFileSync(join(root, 'dashboard', 'src', 'main.ts'), "document.title = 'built by vite';\n");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('builds the page and its script once per state of dashboard/, with relative asset paths', async () => {
    const dir = await buildDashboard(root);
    assert.equal(dir, join(root, 'dist', 'dashboard', readdirSync(join(root, 'dist', 'dashboard'))[0]!));
    const [script] = readdirSync(join(dir, 'assets'));
    assert.match(readFileSync(join(dir, 'index.html'), 'utf8'), new RegExp(`src="\\./assets/${script}"`));
    assert.match(readFileSync(join(dir, 'assets', script!), 'utf8'), /built by vite/);
    assert.equal(await buildDashboard(root), dir, 'not built again');
  });
});

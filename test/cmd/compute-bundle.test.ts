/**
 * "Compute hosts hold no database credentials" by construction: `stratus compute` loads no database
 * code. Builds the commands as scripts/build.mjs does, with esbuild's metafile, and follows what the
 * compute process loads: the `stratus` entry's chunk and its static imports, plus the chunk of
 * src/compute/service.ts (imported when the command is `compute`) and its static imports.
 */
import assert from 'node:assert/strict';
import { packageRoot } from '../../src/common/package-root.ts';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { build, type Metafile } from 'esbuild';
// @ts-expect-error: a plain JavaScript module (the launchers import it before any TypeScript loads)
import { esbuildOptions } from '../../scripts/build.mjs';

const ROOT = packageRoot();
const ENTRY = 'src/cmd/stratus.ts';
const COMPUTE_SERVICE = 'src/compute/service.ts';

/** Database code, and code of the services that have a database. */
const FORBIDDEN_MODULES = [
  /^src\/common\/db\//,
  /^src\/objects\//,
  /^src\/placement\//,
  /^src\/api\//,
  /^src\/conductor\//,
  /^src\/scheduler\//,
  /^src\/runtime\/environment\.ts$/,
];
const FORBIDDEN_PACKAGES = ['kysely', 'better-sqlite3', 'mysql2', 'pg'];

async function metafile(): Promise<Metafile> {
  const options = (esbuildOptions as (root: string, outdir: string) => object)(ROOT, join(ROOT, '.tmp', 'bundle-test'));
  const result = await build({ ...options, write: false, metafile: true });
  return result.metafile;
}

/** The output files a `stratus compute` process loads, and the external packages they import. */
function computeLoads(meta: Metafile): { inputs: Set<string>; packages: Set<string> } {
  const outputs = Object.entries(meta.outputs).filter(([path]) => path.endsWith('.js'));
  const byEntry = (entry: string) => {
    const found = outputs.find(([, out]) => out.entryPoint === entry);
    assert.ok(found, `no output for ${entry}: is it still imported (dynamically) by ${ENTRY}?`);
    return found[0];
  };
  const loaded = new Set<string>();
  const visit = (path: string) => {
    if (loaded.has(path)) return;
    loaded.add(path);
    for (const imp of meta.outputs[path]!.imports) {
      if (!imp.external && imp.kind === 'import-statement') visit(imp.path);
    }
  };
  visit(byEntry(ENTRY));
  visit(byEntry(COMPUTE_SERVICE));
  const inputs = new Set<string>();
  const packages = new Set<string>();
  for (const path of loaded) {
    for (const input of Object.keys(meta.outputs[path]!.inputs)) inputs.add(input);
    for (const imp of meta.outputs[path]!.imports) {
      if (imp.external)
        packages.add(imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0]!);
    }
  }
  return { inputs, packages };
}

/** How `target` is reached from the compute service or the entry, for the failure message. */
function chainTo(meta: Metafile, target: string): string {
  const previous = new Map<string, string | null>([
    [ENTRY, null],
    [COMPUTE_SERVICE, null],
  ]);
  const queue = [ENTRY, COMPUTE_SERVICE];
  while (queue.length > 0) {
    const at = queue.shift()!;
    if (at === target) break;
    for (const imp of meta.inputs[at]?.imports ?? []) {
      if (imp.external || imp.kind !== 'import-statement' || previous.has(imp.path)) continue;
      previous.set(imp.path, at);
      queue.push(imp.path);
    }
  }
  const chain: string[] = [];
  for (let at: string | null | undefined = target; at; at = previous.get(at)) chain.unshift(at);
  return chain.join(' -> ');
}

describe('the compute bundle', () => {
  it('holds no database code, nor code of the services that have a database', async () => {
    const meta = await metafile();
    const { inputs, packages } = computeLoads(meta);
    assert.ok(inputs.has('src/compute/manager.ts'), 'the compute manager is loaded (the walk found the compute chunk)');
    assert.ok(inputs.has('src/wire/contracts/conductor.ts'), 'the conductor client is loaded');
    const bad = [...inputs].filter((input) => FORBIDDEN_MODULES.some((re) => re.test(input)));
    assert.deepEqual(
      bad.map((input) => chainTo(meta, input)),
      [],
      'modules that stratus compute must not load',
    );
    assert.deepEqual(
      FORBIDDEN_PACKAGES.filter((name) => packages.has(name)),
      [],
      `database drivers imported by what stratus compute loads (packages: ${[...packages].sort().join(', ')})`,
    );
  });

  it('would see database code if compute loaded it (the walk is not blind)', async () => {
    const meta = await metafile();
    // The conductor's chunk is reached the same way as compute's: its database code must show.
    const conductor = Object.entries(meta.outputs).find(([, out]) => out.entryPoint === 'src/conductor/service.ts');
    assert.ok(conductor, 'the conductor service has a chunk of its own');
    const all = new Set<string>();
    const visit = (path: string) => {
      if (all.has(path)) return;
      all.add(path);
      for (const imp of meta.outputs[path]!.imports)
        if (!imp.external && imp.kind === 'import-statement') visit(imp.path);
    };
    visit(conductor[0]);
    const inputs = [...all].flatMap((path) => Object.keys(meta.outputs[path]!.inputs));
    assert.ok(
      inputs.some((input) => input.startsWith('src/objects/')),
      'the conductor loads objects/',
    );
  });
});

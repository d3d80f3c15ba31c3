/**
 * The compiled form of the test suite, for `npm test` (scripts/test.sh): every test/**\/*.test.ts
 * bundled by esbuild, with the modules they share split into common chunks, under
 * .cache/test-build/ (the same relative paths, .js instead of .ts).
 *
 * Why: run through tsx, each test file's process loads some hundreds of modules through loader hooks
 * that Node 20 runs on a thread of their own, one message round trip per module. That cost about two
 * seconds of CPU per file, paid by each of some two hundred files: half the CPU of the unit and
 * integration phase. Bundled, a file loads a handful of chunks natively. Developers still run a single
 * file straight from its source with `node --import tsx --test FILE`, and stack traces of the compiled
 * files point back to the sources (`--enable-source-maps`).
 *
 * Test code finds the checkout with packageRoot() (src/common/package-root.ts), never with a path
 * relative to its own module: in a chunk, that module's location is not its source's.
 *
 *   node scripts/build-tests.mjs [FILES...]   (prints the compiled files' paths, one per line)
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { esbuildOptions } from './build.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const TEST_BUILD_DIR = join(ROOT, '.cache', 'test-build');

function findTests(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * The project's own scripts (scripts/*.mjs) are loaded from where they are, not bundled: they find the
 * checkout from their own location, and run their command-line part when they are the main module.
 */
const keepScriptsInPlace = {
  name: 'keep-scripts-in-place',
  setup(build) {
    build.onResolve({ filter: /\/scripts\/[^/]+\.mjs$/ }, (args) => ({
      path: join(args.resolveDir, args.path),
      external: true,
    }));
  },
};

/** Builds `files` (paths relative to the checkout; default every test file); answers the outputs. */
export async function buildTests(files = findTests('test')) {
  rmSync(TEST_BUILD_DIR, { recursive: true, force: true });
  // The services' bundle options (scripts/build.mjs: dependencies external, source maps, class names
  // kept), for other entry points, keeping their paths below the output directory.
  await build({
    ...esbuildOptions(ROOT, TEST_BUILD_DIR),
    entryPoints: files,
    outbase: '.',
    logLevel: 'warning',
    plugins: [keepScriptsInPlace],
  });
  return files.map((file) => join(relative(ROOT, TEST_BUILD_DIR), file.replace(/\.ts$/, '.js')));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const outputs = await buildTests(args.length ? args : undefined);
  process.stdout.write(`${outputs.join('\n')}\n`);
}

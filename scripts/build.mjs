/**
 * The compiled form of the commands: src/cmd/stratus.ts and stratus-manage.ts bundled by esbuild into
 * plain JavaScript under dist/, which bin/stratus.js and bin/stratus-manage.js run.
 *
 * Why compiled: running the TypeScript through tsx compiles every module at each start, and on Node 20
 * tsx's loader hooks run in a V8 isolate of their own inside the process. Each service then held about
 * 50 MiB more resident memory and started half a second later (docs/benchmarks.md, "boot").
 *
 * Never stale: a build lives in dist/<key>/, where the key is a hash of the path, size and modification
 * time of every source file and of this script. A launcher that finds no build for the sources as they
 * are builds one (esbuild takes well under a second), so an edited checkout runs what it holds. Builds
 * are written to a temporary directory and renamed into place, so processes started together (a test
 * suite) never see half a build; the one that loses the race uses the winner's.
 *
 * The dashboard (dashboard/) is built here too, by Vite, into dist/dashboard/<key>/ (ensureDashboardBuilt).
 *
 *   node scripts/build.mjs      (npm run build; npm ci runs it as `prepare`)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const ENTRY_POINTS = { stratus: 'src/cmd/stratus.ts', 'stratus-manage': 'src/cmd/stratus-manage.ts' };
/**
 * Builds of other source states are removed once this old. A running service may still use an old
 * build, which is safe because a service loads all its chunks while it starts (its lazy imports are
 * start-up steps); a lazy import made later in a process's life would need its build kept as long.
 */
const KEEP_OLD_BUILDS_MS = 24 * 3600 * 1000;

/**
 * How the commands are bundled: also what test/cmd/compute-bundle.test.ts builds (with a metafile) to
 * check which modules `stratus compute` loads.
 */
export function esbuildOptions(root, outdir) {
  return {
    absWorkingDir: root,
    entryPoints: ENTRY_POINTS,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Dependencies stay in node_modules (native modules, lazy engine drivers): only Stratus is bundled.
    packages: 'external',
    // For stack traces in terms of src/: run with NODE_OPTIONS=--enable-source-maps.
    sourcemap: 'linked',
    // Class names are data here: errors are registered, sent over RPC and shown in API bodies by name
    // (src/common/errors.ts). Bundling renames a class that collides with another binding (the
    // `const Foo = declareError(class Foo ...)` pattern becomes `class Foo2`); keepNames keeps `.name`.
    keepNames: true,
    logLevel: 'silent',
  };
}

/** The hash of the state of the trees under `dirs` (relative to `root`): which build runs them. */
function sourceKey(root, dirs) {
  const hash = createHash('sha256');
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else {
        const { size, mtimeMs } = statSync(path);
        hash.update(`${path}\0${size}\0${mtimeMs}\n`);
      }
    }
  };
  for (const dir of dirs) visit(join(root, dir));
  const self = statSync(fileURLToPath(import.meta.url));
  hash.update(`build.mjs\0${self.size}\0${self.mtimeMs}`);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The directory of the build of the sources as they are, built first if there is none. `root` is the
 * checkout (another one only in this script's own test).
 */
export async function ensureBuilt(root = ROOT) {
  return buildOnce(join(root, 'dist'), sourceKey(root, ['src']), 'stratus.js', async (scratch) => {
    const { build } = await import('esbuild');
    await build(esbuildOptions(root, scratch));
  });
}

/**
 * The directory of the dashboard (dashboard/, a React application) built by Vite for its sources as they
 * are, built first if there is none: what the api service serves on `[dashboard] port`. Its own key and
 * directory (dist/dashboard/<key>/), so that editing a service does not rebuild it nor the reverse.
 */
export async function ensureDashboardBuilt(root = ROOT) {
  const key = sourceKey(root, ['dashboard']);
  return buildOnce(join(root, 'dist', 'dashboard'), key, 'index.html', async (scratch) => {
    const [{ build }, { default: react }] = await Promise.all([import('vite'), import('@vitejs/plugin-react')]);
    await build({
      root: join(root, 'dashboard'),
      configFile: false,
      logLevel: 'warn',
      plugins: [react()],
      // Relative asset URLs: the page works under any path a reverse proxy puts it at.
      base: './',
      build: { outDir: scratch, emptyOutDir: true, reportCompressedSize: false },
    });
  });
}

/**
 * `dist`/`key`, made by `make(scratch)` unless it holds `marker` already. Builds are written to a
 * temporary directory and renamed into place, so processes started together never see half a build.
 */
async function buildOnce(dist, key, marker, make) {
  const target = join(dist, key);
  if (existsSync(join(target, marker))) return target;
  mkdirSync(dist, { recursive: true });
  const scratch = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await make(scratch);
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  try {
    renameSync(scratch, target);
  } catch (err) {
    // Another process built the same sources first: its build is as good as this one.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(join(target, marker))) throw err;
  }
  removeOldBuilds(dist, key);
  return target;
}

function removeOldBuilds(dist, current) {
  for (const name of readdirSync(dist)) {
    // dist/dashboard/ holds the dashboard's builds, which removes its own old ones.
    if (name === current || name === 'dashboard') continue;
    const path = join(dist, name);
    if (Date.now() - statSync(path).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** Runs the compiled command `name` (a key of ENTRY_POINTS) in this process. */
export async function runCommand(name) {
  let dir;
  try {
    dir = await ensureBuilt();
  } catch (err) {
    const lines = err.message.split('\n');
    // A checkout installed by one user and run by another after its sources changed, or a source error.
    const hint = /permission denied|EACCES|EROFS/i.test(err.message)
      ? `Run \`npm run build\` in ${ROOT} as a user who can write there, then start ${name} again.`
      : 'Fix the sources (the error is above) and start it again.';
    process.stderr.write(
      `${name}: cannot build ${join(ROOT, 'dist')} for the current sources: ${lines.slice(0, 2).join('\n')}\n${hint}\n`,
    );
    process.exit(1);
  }
  await import(pathToFileURL(join(dir, `${name}.js`)).href);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${await ensureBuilt()}\n${await ensureDashboardBuilt()}\n`);
}

/**
 * `npm run bench -- NAME [--option value]...`: runs one benchmark. Each prints progress on stderr and,
 * as its last stdout line, one JSON object with its figures.
 */
const name = process.argv[2];
const benches: Record<string, () => Promise<{ run(args: Record<string, string>): Promise<Record<string, unknown>> }>> =
  {
    boot: () => import('./boot.ts'),
    chaos: () => import('./chaos.ts'),
    'config-drive': () => import('./config-drive.ts'),
    dashboard: () => import('./dashboard.ts'),
    'disk-snapshots': () => import('./disk-snapshots.ts'),
    drain: () => import('./drain.ts'),
    flood: () => import('./flood.ts'),
    'guest-boot': () => import('./guest-boot.ts'),
    'live-migration': () => import('./live-migration.ts'),
    metadata: () => import('./metadata.ts'),
    resize: () => import('./resize.ts'),
    scheduler: () => import('./scheduler.ts'),
    'ssh-login': () => import('./ssh-login.ts'),
  };
if (!name || !benches[name]) {
  process.stderr.write(
    `usage: npm run bench -- NAME [--option value | --flag]...\nbenchmarks: ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(2);
}
const args: Record<string, string> = {};
const rest = process.argv.slice(3);
// `--name value`, or a bare `--flag` (followed by another option or nothing) read as 'true'.
for (let i = 0; i < rest.length; i++) {
  const value = rest[i + 1];
  const bare = value === undefined || value.startsWith('--');
  args[rest[i]!.replace(/^--/, '')] = bare ? 'true' : value;
  if (!bare) i++;
}
const bench = await benches[name]!();
const figures = await bench.run(args);
process.stdout.write(`${JSON.stringify({ bench: name, ...figures })}\n`);
process.exit(0);

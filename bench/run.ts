/**
 * `npm run bench -- NAME [--option value]...`: runs one benchmark. Each prints progress on stderr and,
 * as its last stdout line, one JSON object with its figures.
 */
const name = process.argv[2];
const benches: Record<string, () => Promise<{ run(args: Record<string, string>): Promise<Record<string, unknown>> }>> =
  {
    boot: () => import('./boot.ts'),
    chaos: () => import('./chaos.ts'),
    dashboard: () => import('./dashboard.ts'),
    'disk-snapshots': () => import('./disk-snapshots.ts'),
    drain: () => import('./drain.ts'),
    'guest-boot': () => import('./guest-boot.ts'),
    'live-migration': () => import('./live-migration.ts'),
    metadata: () => import('./metadata.ts'),
    scheduler: () => import('./scheduler.ts'),
  };
if (!name || !benches[name]) {
  process.stderr.write(
    `usage: npm run bench -- NAME [--option value]...\nbenchmarks: ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(2);
}
const args: Record<string, string> = {};
const rest = process.argv.slice(3);
for (let i = 0; i < rest.length; i += 2) args[rest[i]!.replace(/^--/, '')] = rest[i + 1] ?? 'true';
const bench = await benches[name]!();
const figures = await bench.run(args);
process.stdout.write(`${JSON.stringify({ bench: name, ...figures })}\n`);
process.exit(0);

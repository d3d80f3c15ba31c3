/**
 * Benchmark `drain`: an operator empties a host for maintenance. N fake-driver servers are booted on one
 * host, its compute service is disabled (`openstack compute service set --disable`), and every server is
 * cold-migrated off it at once (`openstack server migrate` of each), each resize confirmed as soon as it
 * waits for it; with `--live`, live-migrated instead (`openstack server migrate --live-migration`: no
 * confirmation, the guests run all along; `--transfer-ms` is each fake transfer's time). Conductor,
 * scheduler and compute hosts run in one process on an in-process bus and SQLite (the flows of the
 * deployment without its REST layer or broker), so the figure is the move machinery's.
 *   npm run bench -- drain [--servers 50] [--destinations 2] [--spawn-delay-ms 0] [--live] [--transfer-ms 0]
 * Figures: `empty_s`, seconds from the first migrate until no server has the host as its host;
 * `released_s`, until the host holds no allocation either (every move confirmed or completed);
 * per-server p50/p95 (until VERIFY_RESIZE, or until ACTIVE on the destination when live).
 */
import type { Instance } from '../src/objects/instances.ts';
import { percentile, round } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[drain] ${msg}\n`);

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const servers = Number(args['servers'] ?? 50);
  const destinations = Number(args['destinations'] ?? 2);
  const spawnDelay = args['spawn-delay-ms'] ?? '0';
  const live = args['live'] !== undefined;
  const transferMs = args['transfer-ms'] ?? '0';
  // The services log each step at info: only warnings, on stderr's side of the figures.
  process.env['STRATUS_LOG_LEVEL'] ??= 'warn';
  const { ComputeRpcApi } = await import('../src/wire/contracts/compute.ts');
  const { getInstance } = await import('../src/objects/instances.ts');
  const { VmState } = await import('../src/wire/messages/instance-states.ts');
  const { smallFlavor, startTestCloud } = await import('../test/helpers/in-process-cloud.ts');
  const { liveMigrateAsApi, startMoveAsApi, verifyAsApi } = await import('../test/helpers/move-requests.ts');
  const { consumersOnHost } = await import('../test/helpers/allocation-holders.ts');
  const driver = {
    vcpus: String(servers * 2),
    memory_mb: String(servers * 1024),
    spawn_delay_ms: spawnDelay,
    live_migration_ms: transferMs,
  };
  const cloud = await startTestCloud({
    computeHosts: [],
    overrides: { scheduler: { host_state_refresh_interval: '0' }, fake_driver: driver },
  });
  try {
    await cloud.startComputeHost('drained');
    const flavor = await smallFlavor(cloud.database, 'drain.small', { vcpus: 1, memory_mb: 512, root_gb: 1 });
    const uuids = await cloud.boot(flavor, servers, 'drain');
    const settled = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;
    await Promise.all(uuids.map((u) => cloud.waitFor(u, settled, 120_000)));
    say(`${servers} servers on host drained`);
    for (let i = 1; i <= destinations; i++) await cloud.startComputeHost(`spare${i}`);
    await cloud.database.db.updateTable('services').set({ disabled: 1 }).where('host', '=', 'drained').execute();
    const compute = new ComputeRpcApi(cloud.bus.rpc);
    const started = performance.now();
    const perServer: number[] = [];
    await Promise.all(
      uuids.map(async (uuid) => {
        const t0 = performance.now();
        if (live) {
          await liveMigrateAsApi(cloud, uuid);
          const moved = await cloud.waitFor(uuid, settled, 120_000);
          if (moved.host === 'drained') throw new Error(`server ${uuid} did not move`);
          perServer.push(performance.now() - t0);
          return;
        }
        await startMoveAsApi(cloud, uuid);
        const resized = await cloud.waitFor(uuid, (i) => i.vm_state === VmState.RESIZED || settled(i), 120_000);
        if (resized.vm_state !== VmState.RESIZED) throw new Error(`server ${uuid} did not move: ${resized.vm_state}`);
        perServer.push(performance.now() - t0);
        await verifyAsApi(cloud, compute, resized, true);
      }),
    );
    const empty = (performance.now() - started) / 1000;
    const remaining = await Promise.all(uuids.map((u) => getInstance(cloud.database.db, u)));
    if (remaining.some((s) => s.host === 'drained')) throw new Error('a server is still on the drained host');
    await Promise.all(uuids.map((u) => cloud.waitFor(u, (i) => i.vm_state === VmState.ACTIVE && settled(i))));
    const held = () => consumersOnHost(cloud.database, 'drained');
    while ((await held()).length) await new Promise((r) => setTimeout(r, 10));
    const released = (performance.now() - started) / 1000;
    say(`host empty after ${round(empty, 2)} s, its allocations released after ${round(released, 2)} s`);
    return {
      mode: live ? 'live' : 'cold',
      servers,
      destinations,
      spawn_delay_ms: Number(spawnDelay),
      ...(live ? { transfer_ms: Number(transferMs) } : {}),
      empty_s: round(empty, 2),
      released_s: round(released, 2),
      [`per_server_to_${live ? 'active' : 'verify'}_ms_p50`]: round(percentile(perServer, 50), 1),
      [`per_server_to_${live ? 'active' : 'verify'}_ms_p95`]: round(percentile(perServer, 95), 1),
    };
  } finally {
    await cloud.stop();
  }
}

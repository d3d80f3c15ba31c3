/**
 * `stratus`: runs one service per process, or all of them in one (all-in-one), and shows configuration.
 *   stratus [--config-file F]... api|metadata|conductor|scheduler|compute|all-in-one
 *   stratus [--config-file F]... config show
 *   stratus metadata-proxy --control-socket S --pid-file P   (the datapath starts it)
 */
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { renderConfig } from '../common/config/show-config.ts';
import { dashboardUrl, serviceUrl } from '../common/config/service-urls.ts';
import { getLogger } from '../common/log/logger.ts';
import type { OperatorServer } from '../common/metrics/server.ts';
import { connectBus, type Bus } from '../runtime/bus.ts';
import { busHealthCheck, startOperatorEndpoints } from '../runtime/operator-endpoints.ts';
import { holdUntilSignal } from '../runtime/process-runner.ts';
import type { RunningService } from '../runtime/service.ts';
import { addConfigFileOption, configFilesOf, configFrom } from './config-options.ts';
import { exitWithError } from './fail.ts';

const log = getLogger('stratus');
const program = addConfigFileOption(new Command('stratus').description('Stratus compute cloud'));

type ServiceName = 'api' | 'metadata' | 'conductor' | 'scheduler' | 'compute';

/**
 * Runs the named services in this process until SIGTERM. `prepare` may return the configuration the
 * services run with (all-in-one adds the compute service user's credentials it created).
 */
async function run(
  initialConfig: Config,
  names: readonly ServiceName[],
  prepare?: (database: Database) => Promise<Config | void>,
): Promise<void> {
  let config = initialConfig;
  // Compute hosts never open the database (they hold no credentials for it: docs/architecture.md). Each service and
  // the database are imported only when this process runs them, so `stratus compute` loads no database
  // code at all (test/cmd/compute-bundle.test.ts checks it).
  const needsDb = names.some((n) => n !== 'compute');
  const database = needsDb
    ? await (await import('../runtime/environment.ts')).openConfiguredDatabase(config, { checkSchema: !prepare })
    : null;
  if (database && prepare) config = (await prepare(database)) ?? config;
  let bus: Bus | null = null;
  let operator: OperatorServer | null = null;
  const services: RunningService[] = [];
  const cleanup = async () => {
    await operator?.close();
    await bus?.close();
    await database?.close();
  };
  // Installed before anything starts: a SIGTERM during start-up lets it end, then drains what started.
  let startup: Promise<void> = Promise.resolve();
  const hold = holdUntilSignal(services, cleanup, config.DEFAULT.graceful_shutdown_timeout, () => startup);
  startup = (async () => {
    // The metadata service answers guests from the database alone: on its own it needs no bus.
    if (names.some((n) => n !== 'metadata')) bus = await connectBus(config);
    for (const name of names) {
      if (name === 'metadata') {
        const { startMetadata } = await import('../api/metadata/service.ts');
        services.push(await startMetadata(config, database!));
      } else if (name === 'compute') {
        const { startCompute } = await import('../compute/service.ts');
        services.push(await startCompute(config, bus!, hold.signal));
      } else if (name === 'conductor') {
        const { startConductor } = await import('../conductor/service.ts');
        services.push(await startConductor(config, database!, bus!));
      } else if (name === 'scheduler') {
        const { startScheduler } = await import('../scheduler/service.ts');
        services.push(await startScheduler(config, database!, bus!));
      } else {
        // Loaded only where the api runs: a compute host has no use for the three HTTP APIs.
        const { startApi } = await import('../api/service.ts');
        services.push(await startApi(config, database!, bus!));
      }
      log.info({ service: name, host: config.DEFAULT.host }, 'service started');
    }
    const checks = bus ? [busHealthCheck(bus.transport)] : [];
    if (database) checks.push((await import('../runtime/database-health.ts')).databaseHealthCheck(database));
    operator = await startOperatorEndpoints(config, names, checks);
  })();
  try {
    await startup;
  } catch (err) {
    // Draining after a signal stops what started and exits; the start-up's failure is then not reported.
    if (hold.stopping) return;
    for (const service of services.splice(0).reverse()) await service.stop().catch(() => undefined);
    await cleanup().catch(() => undefined);
    throw err;
  }
}

for (const name of ['api', 'metadata', 'conductor', 'scheduler', 'compute'] as const) {
  program
    .command(name)
    .description(`run the ${name} service`)
    .action(async (_opts, cmd: Command) => run(configFrom(cmd), [name]));
}

program
  .command('all-in-one')
  .description('run every service in one process: SQLite, in-process bus; bootstraps on first start')
  .action(async (_opts, cmd: Command) => {
    const { chooseAllInOneDriver, ensureComputeServiceUser, offerGuestImage } =
      await import('../runtime/all-in-one.ts');
    const config = await chooseAllInOneDriver(configFrom(cmd), configFilesOf(cmd));
    const firstStart = !existsSync(`${config.DEFAULT.state_path}/openrc`);
    let runConfig = config;
    await run(config, ['conductor', 'scheduler', 'compute', 'api', 'metadata'], async (database) => {
      const { syncSchema } = await import('../common/db/migrator.ts');
      await syncSchema(database, { defaultStorageTier: config.storage.default_tier });
      const { bootstrapCloud, createDefaultFlavorsIfNone } = await import('../runtime/bootstrap.ts');
      const { openrcPath, generated } = await bootstrapCloud(database, config, {
        password: process.env['OS_BOOTSTRAP_PASSWORD'],
      });
      if (await createDefaultFlavorsIfNone(database)) log.info('created the default flavors m1.tiny .. m1.xlarge');
      if (firstStart || generated) log.info({ openrc: openrcPath }, `admin credentials: source ${openrcPath}`);
      runConfig = await ensureComputeServiceUser(database, config);
      return runConfig;
    });
    if (runConfig.DEFAULT.compute_driver === 'qemu') await offerGuestImage(runConfig);
    const dashboard = config.dashboard.enabled
      ? `Dashboard: ${dashboardUrl(config)} (log in as admin, domain Default)\n`
      : '';
    process.stdout.write(
      `Stratus all-in-one is running. Identity: ${serviceUrl(config, 'identity')}\n` +
        dashboard +
        `Use it with: source ${config.DEFAULT.state_path}/openrc && openstack server list\n`,
    );
  });

program
  .command('config')
  .description('configuration')
  .command('show')
  .description('print the effective configuration, secrets masked')
  .option('--no-help-text', 'omit the help comment above each option')
  .action((opts: { helpText: boolean }, cmd: Command) => {
    process.stdout.write(renderConfig(configFrom(cmd), opts.helpText));
  });

program
  .command('metadata-proxy')
  .description("a compute host's metadata proxy (started by the compute host's datapath, not by hand)")
  .requiredOption('--control-socket <path>', 'unix socket the compute host drives the proxy through')
  .requiredOption('--pid-file <path>', 'written once the control socket listens')
  .action(async (opts: { controlSocket: string; pidFile: string }) => {
    const { runMetadataProxy } = await import('../compute/network/metadata-proxy/proxy-process.ts');
    await runMetadataProxy(opts);
  });

program.parseAsync().catch((err: unknown) => exitWithError('stratus', err));

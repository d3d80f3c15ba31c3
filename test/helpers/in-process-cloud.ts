/**
 * An in-process cloud for tests: conductor, scheduler and compute services on a private in-process bus
 * and a migrated database, the same code paths as the separate processes of a deployment.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig, type Config, type RawOverrides } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import type { Dialect } from '../../src/common/db/connection-url.ts';
import { startCompute } from '../../src/compute/service.ts';
import { startConductor } from '../../src/conductor/service.ts';
import { ConductorRpcApi } from '../../src/wire/contracts/conductor.ts';
import { createFlavor, type Flavor } from '../../src/objects/flavors.ts';
import { getInstance, type Instance } from '../../src/objects/instances.ts';
import { recordBuildRequest } from '../../src/objects/build-requests.ts';
import { recordNicRequests, type NicRequest } from '../../src/objects/instance-networks.ts';
import { connectBus, type Bus } from '../../src/runtime/bus.ts';
import type { RunningService } from '../../src/runtime/service.ts';
import { startScheduler } from '../../src/scheduler/service.ts';
import { RequestSpecShape } from '../../src/wire/messages/request-spec.ts';
import { openTestDatabase, type TestDatabase } from './database.ts';
import { FAST_PASSWORD_HASH_ROUNDS } from './fast-hashing.ts';

export interface TestCloud {
  database: TestDatabase;
  bus: Bus;
  config: Config;
  conductor: ConductorRpcApi;
  services: RunningService[];
  computes: Map<string, RunningService>;
  startComputeHost(host: string, overrides?: RawOverrides): Promise<void>;
  stopComputeHost(host: string): Promise<void>;
  /** Records instances as the API does and casts the build; returns their uuids. */
  boot(
    flavor: Flavor,
    count?: number,
    name?: string,
    /** nics: each server's requested NICs, as the API records them (none: no NIC). */
    options?: { storageTier?: string; nics?: readonly NicRequest[]; configDrive?: boolean },
  ): Promise<string[]>;
  waitFor(uuid: string, done: (i: Instance) => boolean, timeoutMs?: number): Promise<Instance>;
  stop(): Promise<void>;
}

export async function startTestCloud(
  options: { dialect?: Dialect; computeHosts?: string[]; overrides?: RawOverrides } = {},
): Promise<TestCloud> {
  const database = await openTestDatabase(options.dialect ?? 'sqlite');
  const busName = `test-${randomBytes(4).toString('hex')}`;
  const base = options.overrides ?? {};
  const configFor = (host: string, extra: RawOverrides = {}) =>
    loadConfig([], {
      ...base,
      ...extra,
      DEFAULT: {
        transport_url: `fake://${busName}`,
        host,
        rpc_response_timeout: '10',
        ...base.DEFAULT,
        ...extra.DEFAULT,
      },
      fake_driver: { ...base.fake_driver, ...extra.fake_driver },
      identity: { password_hash_rounds: FAST_PASSWORD_HASH_ROUNDS, ...base.identity, ...extra.identity },
      database: { connection: database.url },
    });
  const config = configFor('controller');
  const bus = await connectBus(config);
  const services: RunningService[] = [];
  services.push(await startConductor(config, database, bus));
  services.push(await startScheduler(config, database, bus));
  const computes = new Map<string, RunningService>();
  const computeBuses = new Map<string, Bus>();
  const cloud: TestCloud = {
    database,
    bus,
    config,
    conductor: new ConductorRpcApi(bus.rpc),
    services,
    computes,
    async startComputeHost(host, overrides = {}) {
      const hostConfig = configFor(host, overrides);
      const hostBus = await connectBus(hostConfig);
      computeBuses.set(host, hostBus);
      computes.set(host, await startCompute(hostConfig, hostBus));
    },
    async stopComputeHost(host) {
      await computes.get(host)?.stop();
      await computeBuses.get(host)?.close();
      computes.delete(host);
      computeBuses.delete(host);
    },
    async boot(flavor, count = 1, name = 'vm', options = {}) {
      const ctx = { ...adminContext(), userId: 'u1', projectId: 'p1' };
      const uuids = Array.from({ length: count }, () => randomUUID());
      const reservation = `r-${randomBytes(4).toString('hex')}`;
      const instances = uuids.map((uuid, i) => ({
        uuid,
        display_name: count > 1 ? `${name}-${i + 1}` : name,
        display_description: null,
        hostname: name,
        user_id: 'u1',
        project_id: 'p1',
        image_ref: randomUUID(),
        flavor,
        availability_zone: null,
        key_name: null,
        config_drive: options.configDrive ? 'True' : '',
        user_data: null,
        reservation_id: reservation,
        launch_index: i,
        access_ip_v4: null,
        access_ip_v6: null,
        metadata: {},
        storage_tier: options.storageTier ?? config.storage.default_tier,
      }));
      await recordBuildRequest(
        database.db,
        ctx,
        instances,
        RequestSpecShape.build({
          project_id: 'p1',
          user_id: 'u1',
          flavor: { ...flavor, extra_specs: { ...flavor.extra_specs } },
          image: { id: 'img', properties: {} },
          availability_zone: null,
          scheduler_hints: {},
          num_instances: count,
          storage_tier: options.storageTier ?? config.storage.default_tier,
          ignore_hosts: [],
        }),
      );
      for (const uuid of uuids) await recordNicRequests(database.db, uuid, options.nics ?? []);
      await cloud.conductor.buildInstances(ctx, uuids);
      return uuids;
    },
    async waitFor(uuid, done, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const instance = await getInstance(database.db, uuid, true);
        if (done(instance)) return instance;
        if (Date.now() > deadline) {
          throw new Error(
            `instance ${uuid} did not settle: vm_state ${instance.vm_state}, task_state ${instance.task_state}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      for (const host of [...computes.keys()]) await cloud.stopComputeHost(host);
      for (const service of [...services].reverse()) await service.stop();
      await bus.close();
      await database.close();
    },
  };
  for (const host of options.computeHosts ?? ['compute1']) await cloud.startComputeHost(host);
  return cloud;
}

export function smallFlavor(
  database: TestDatabase,
  name = 'm1.small',
  size: Partial<{ vcpus: number; memory_mb: number; root_gb: number }> = {},
): Promise<Flavor> {
  return createFlavor(database.db, {
    name,
    vcpus: size.vcpus ?? 1,
    memory_mb: size.memory_mb ?? 512,
    root_gb: size.root_gb ?? 1,
    flavorid: null,
  });
}

/**
 * The compute API end to end in one process: the API, a real conductor and one fake-driver compute host
 * on a private in-process bus, so each request runs to its final state. For API tests that need the
 * compute side to act (deferred delete, disk snapshots) rather than casts recorded by the harness.
 */
import { loadConfig, type RawOverrides } from '../../../src/common/config/load-config.ts';
import { InProcessBroker, InProcessTransport, RpcClient, RpcServer } from '../../../src/common/rpc/index.ts';
import { ComputeManager } from '../../../src/compute/manager.ts';
import { computeEndpoints } from '../../../src/compute/rpc.ts';
import { FakeDriver } from '../../../src/compute/virt/fake/fake-driver.ts';
import { PortStatusReports } from '../../../src/conductor/port-status-reports.ts';
import { ConductorManager } from '../../../src/conductor/manager.ts';
import { conductorEndpoints } from '../../../src/conductor/rpc.ts';
import { instancePayload } from '../../../src/objects/instance-payload.ts';
import { getInstance, type Instance } from '../../../src/objects/instances.ts';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { ConductorRpcApi } from '../../../src/wire/contracts/conductor.ts';
import { SchedulerRpcApi } from '../../../src/wire/contracts/scheduler.ts';
import { fakeDriverOptions } from '../../helpers/fake-driver-options.ts';
import { waitUntil } from '../../helpers/processes.ts';
import { seedServer, startComputeApi, type Harness } from './helpers.ts';
import { NoopNetworkDriver } from '../../../src/compute/network/noop-driver.ts';

export interface ApiWithLiveHost {
  /** The API, whose casts reach the conductor and the compute host. */
  h: Harness;
  driver: FakeDriver;
  manager: ComputeManager;
  /** A running server on the host, whose guest the fake driver runs. */
  runningServer(fields?: Parameters<typeof seedServer>[1]): Promise<Instance>;
  /** Waits until the server has no task (the compute host finished), and returns it. */
  settled(uuid: string): Promise<Instance>;
  close(): Promise<void>;
}

/** Starts it all; `overrides` configure both the API and the compute host. */
export async function startApiWithLiveHost(host: string, overrides: RawOverrides = {}): Promise<ApiWithLiveHost> {
  const broker = new InProcessBroker();
  const transports: InProcessTransport[] = [];
  const connected = async (): Promise<InProcessTransport> => {
    const transport = new InProcessTransport(broker);
    await transport.connect();
    transports.push(transport);
    return transport;
  };
  const h = await startComputeApi(overrides, { rpcTransport: await connected() });
  const rpc = new RpcClient(await connected(), { responseTimeoutMs: 5000 });
  const conductor = new ConductorManager(h.database, h.config, new SchedulerRpcApi(rpc), new ComputeRpcApi(rpc));
  const servers = [
    new RpcServer(await connected(), {
      ...conductorEndpoints(conductor, new PortStatusReports(h.database)),
      server: 'controller',
    }),
  ];
  const driver = new FakeDriver(fakeDriverOptions());
  await driver.init(host);
  const manager = new ComputeManager(
    host,
    loadConfig([], overrides),
    driver,
    new NoopNetworkDriver(),
    new ConductorRpcApi(rpc),
  );
  servers.push(new RpcServer(await connected(), { ...computeEndpoints(manager), server: host }));
  for (const server of servers) await server.start();
  return {
    h,
    driver,
    manager,
    async runningServer(fields = {}) {
      const server = await seedServer(h, { host, ...fields });
      await driver.spawn(instancePayload(server), host);
      return server;
    },
    settled: (uuid) =>
      waitUntil(`server ${uuid} without a task`, async () => {
        const instance = await getInstance(h.database.db, uuid);
        return instance.task_state === null ? instance : null;
      }),
    async close() {
      for (const server of servers) await server.stop();
      for (const transport of transports) await transport.close();
      await h.close();
    },
  };
}

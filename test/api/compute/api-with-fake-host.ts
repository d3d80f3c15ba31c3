/**
 * The compute API with one compute host answering its calls: a real ComputeManager on the fake driver,
 * bound to the API by an in-process bus (no conductor: the host's own calls to the conductor time out
 * fast). For API tests of actions a host must answer (diagnostics, interfaces).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { InProcessBroker, InProcessTransport, RpcClient, RpcServer } from '../../../src/common/rpc/index.ts';
import { ComputeManager } from '../../../src/compute/manager.ts';
import { NoopNetworkDriver } from '../../../src/compute/network/noop-driver.ts';
import { computeEndpoints } from '../../../src/compute/rpc.ts';
import { FakeDriver } from '../../../src/compute/virt/fake/fake-driver.ts';
import { ConductorRpcApi } from '../../../src/wire/contracts/conductor.ts';
import { fakeDriverOptions } from '../../helpers/fake-driver-options.ts';
import { startComputeApi, type Harness } from './helpers.ts';

export interface ApiWithFakeHost {
  h: Harness;
  driver: FakeDriver;
  close(): Promise<void>;
}

export async function startApiWithFakeHost(host = 'host1'): Promise<ApiWithFakeHost> {
  const broker = new InProcessBroker();
  const transports = [new InProcessTransport(broker), new InProcessTransport(broker)] as const;
  for (const t of transports) await t.connect();
  const [apiTransport, hostTransport] = transports;
  const h = await startComputeApi({}, { rpcTransport: apiTransport });
  const driver = new FakeDriver(fakeDriverOptions());
  await driver.init(host);
  // The host's record of its guests' interfaces goes to a directory of the test's own.
  const vifCache = mkdtempSync(join(tmpdir(), 'stratus-api-host-vif-cache-'));
  const manager = new ComputeManager(
    host,
    loadConfig([], { compute: { vif_cache_directory: vifCache } }),
    driver,
    new NoopNetworkDriver(),
    new ConductorRpcApi(new RpcClient(hostTransport, { responseTimeoutMs: 1000 })),
  );
  const server = new RpcServer(hostTransport, { ...computeEndpoints(manager), server: host });
  await server.start();
  return {
    h,
    driver,
    async close() {
      await server.stop();
      for (const t of transports) await t.close();
      await h.close();
      rmSync(vifCache, { recursive: true, force: true });
    },
  };
}

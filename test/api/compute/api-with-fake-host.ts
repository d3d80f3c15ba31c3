/**
 * The compute API with one compute host answering its calls: a real ComputeManager on the fake driver,
 * bound to the API by an in-process bus (no conductor: the host's own calls to the conductor fail fast,
 * except security_group_members, which a host asks before it plugs a port whose rules name a remote
 * group it does not follow, answered from the test's database as the conductor does). For API tests of
 * actions a host must answer (diagnostics, interfaces).
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
import { groupMembers } from '../../../src/network/security-group-port-rules.ts';
import { serveContract, type Handlers } from '../../../src/wire/contract.ts';
import { ConductorRpcApi, conductorContract } from '../../../src/wire/contracts/conductor.ts';
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
  const served = serveContract(conductorContract, {
    security_group_members: (_ctx, a) => groupMembers(h.database.db, a.group_ids),
  } as Partial<Handlers<typeof conductorContract.methods>> as Handlers<typeof conductorContract.methods>);
  const members = new RpcServer(apiTransport, {
    topic: served.topic,
    version: served.version,
    endpoints: { security_group_members: served.endpoints['security_group_members']! },
    server: 'controller',
  });
  await members.start();
  return {
    h,
    driver,
    async close() {
      await members.stop();
      await server.stop();
      for (const t of transports) await t.close();
      await h.close();
      rmSync(vifCache, { recursive: true, force: true });
    },
  };
}

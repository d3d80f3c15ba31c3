/**
 * The message bus of a service process: its transport and the RPC client on it. Kept apart from the
 * database (environment.ts): compute hosts load this and no database code.
 */
import type { Config } from '../common/config/load-config.ts';
import { createTransport, RpcClient, type Transport } from '../common/rpc/index.ts';
import { connectAtStartup } from './bus-startup.ts';

export interface Bus {
  readonly transport: Transport;
  readonly rpc: RpcClient;
  close(): Promise<void>;
}

export async function connectBus(config: Config): Promise<Bus> {
  const transport = createTransport(config.DEFAULT.transport_url);
  await connectAtStartup(transport, config);
  const rpc = new RpcClient(transport, { responseTimeoutMs: config.DEFAULT.rpc_response_timeout * 1000 });
  return {
    transport,
    rpc,
    close: async () => {
      await rpc.close();
      await transport.close();
    },
  };
}

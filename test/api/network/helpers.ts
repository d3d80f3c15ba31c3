/**
 * A complete network API over a migrated database (in-memory SQLite unless asked), with the fake token
 * validator: an admin and members of two projects, and a bus transport that records the casts to
 * compute hosts (network_info_changed) instead of delivering them.
 */
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import { registerNetworkApi } from '../../../src/api/network/index.ts';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import type { Dialect } from '../../../src/common/db/connection-url.ts';
import { RpcClient } from '../../../src/common/rpc/index.ts';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { RecordingTransport } from '../../helpers/recording-transport.ts';
import { PROJECT_A, PROJECT_ADMIN, PROJECT_B, TOKENS, fakeTokens } from '../../helpers/fake-tokens.ts';

export { PROJECT_A, PROJECT_ADMIN, PROJECT_B, TOKENS };
export type Who = keyof typeof TOKENS;

export interface NetworkApiHarness {
  app: ApiServer;
  database: TestDatabase;
  /** What the API cast to compute hosts; set `refuse` to make the bus fail. */
  transport: RecordingTransport;
  /** A request as `who`; `body` is sent as JSON. */
  call(
    who: Who | null,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** `dialect` defaults to STRATUS_TEST_NETWORK_DIALECT (mysql, postgres), else in-memory SQLite. */
export async function startNetworkApi(options: { dialect?: Dialect } = {}): Promise<NetworkApiHarness> {
  const fromEnv = process.env['STRATUS_TEST_NETWORK_DIALECT'];
  const dialect = options.dialect ?? (fromEnv === 'mysql' || fromEnv === 'postgres' ? fromEnv : 'sqlite');
  const database = await openTestDatabase(dialect);
  const app = createApiServer({ kind: 'network', tokens: fakeTokens });
  const transport = new RecordingTransport();
  const compute = new ComputeRpcApi(new RpcClient(transport, { responseTimeoutMs: 1000 }));
  registerNetworkApi(app, { database, config: loadConfig([], {}), compute });
  await app.ready();
  return {
    app,
    database,
    transport,
    async call(who, method, url, body) {
      const response = await app.inject({
        method,
        url,
        headers: { ...(who ? { 'x-auth-token': TOKENS[who] } : {}) },
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      return {
        status: response.statusCode,
        body: response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>),
      };
    },
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

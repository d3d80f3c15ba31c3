/** What the network API routes are built from; the same object is handed to every resource module. */
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';
import type { ComputeRpcApi } from '../../wire/contracts/compute.ts';

export interface NetworkApiDeps {
  database: Database;
  config: Config;
  /** Casts network_info_changed to the hosts of servers whose ports a request changed. */
  compute: ComputeRpcApi;
}

/** What the compute API routes are built from; the same object is handed to every route module. */
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';
import type { ComputeRpcApi } from '../../compute/rpc.ts';
import type { ConductorRpcApi } from '../../conductor/rpc.ts';
import type { ImageLookup } from './image-lookup.ts';

export interface ComputeApiDeps {
  database: Database;
  config: Config;
  conductor: ConductorRpcApi;
  compute: ComputeRpcApi;
  images: ImageLookup;
}

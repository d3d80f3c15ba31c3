/** What the compute API routes are built from; the same object is handed to every route module. */
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';
import type { ComputeRpcApi } from '../../wire/contracts/compute.ts';
import type { ConductorRpcApi } from '../../wire/contracts/conductor.ts';
import type { ImageLookup } from './image-lookup.ts';
import type { ApiNotifications } from './notifications/api-notifications.ts';

export interface ComputeApiDeps {
  database: Database;
  config: Config;
  conductor: ConductorRpcApi;
  compute: ComputeRpcApi;
  images: ImageLookup;
  notifications: ApiNotifications;
}

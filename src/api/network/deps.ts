/** What the network API routes are built from; the same object is handed to every resource module. */
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';

export interface NetworkApiDeps {
  database: Database;
  config: Config;
}

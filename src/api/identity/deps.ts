/** What the identity routes need. */
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';
import type { TokenService } from '../auth/token-service.ts';

export interface IdentityDeps {
  database: Database;
  config: Config;
  tokens: TokenService;
}

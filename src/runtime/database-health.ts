/**
 * The database as the health check sees it: one trivial query answers. Apart from operator-endpoints.ts
 * so that compute hosts, which have no database, load no database code (docs/architecture.md).
 */
import { sql } from 'kysely';
import type { Database } from '../common/db/database.ts';
import type { HealthCheck } from '../common/metrics/health.ts';

export function databaseHealthCheck(database: Database): HealthCheck {
  return {
    name: 'database',
    details: `query on ${database.description}`,
    check: async () => {
      await sql`SELECT 1`.execute(database.db);
      return null;
    },
  };
}

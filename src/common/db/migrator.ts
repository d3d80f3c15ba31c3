/**
 * Versioned schema migrations (`stratus-manage db sync`), on Kysely's migrator. Running it again is a
 * no-op; `db sync` refuses a database migrated by newer code, which it cannot migrate. A service runs on
 * one (with a warning): migrations only expand the schema, so during a rolling upgrade the services of
 * the previous release keep running, and restarting, on the schema the new release migrated.
 */
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import { DatabaseError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';
import type { Database } from './database.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { DEFAULT_MIGRATION_SETTINGS, type MigrationSettings } from './migrations/settings.ts';

const MIGRATION_TABLE = 'stratus_migration';
const LOCK_TABLE = 'stratus_migration_lock';

export interface SchemaStatus {
  /** Migrations this code knows, applied or not. */
  readonly known: number;
  readonly applied: readonly string[];
  readonly pending: readonly string[];
}

function migrator(database: Database, settings: MigrationSettings = DEFAULT_MIGRATION_SETTINGS): Migrator {
  const provider: MigrationProvider = {
    getMigrations: async () =>
      Object.fromEntries(
        MIGRATIONS.map((m): [string, Migration] => [m.name, { up: (db) => m.up(db, database.dialect, settings) }]),
      ),
  };
  return new Migrator({
    db: database.db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: LOCK_TABLE,
  });
}

export async function schemaStatus(database: Database): Promise<SchemaStatus> {
  const { unknown, ...status } = await readSchemaStatus(database);
  if (unknown.length) {
    throw new DatabaseError(
      `the database schema of ${database.description} is newer than this code: it has migration(s) ` +
        `${unknown.join(', ')} that this version of Stratus does not know. Upgrade Stratus before using this database.`,
    );
  }
  return status;
}

/** The schema status, plus the applied migrations this code does not know (a newer release's). */
async function readSchemaStatus(database: Database): Promise<SchemaStatus & { unknown: string[] }> {
  const infos = await migrator(database).getMigrations();
  const known = new Set(MIGRATIONS.map((m) => m.name));
  const applied = await appliedMigrationNames(database);
  return {
    known: MIGRATIONS.length,
    applied,
    pending: infos.filter((i) => !i.executedAt).map((i) => i.name),
    unknown: applied.filter((name) => !known.has(name)),
  };
}

async function appliedMigrationNames(database: Database): Promise<string[]> {
  const tables = await database.db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return [];
  // The migration table is Kysely's, outside our Schema type.
  const rows = (await database.db
    .selectFrom(MIGRATION_TABLE as never)
    .select('name' as never)
    .execute()) as unknown as { name: string }[];
  return rows.map((r) => r.name).sort();
}

/** Applies pending migrations; returns the names applied. `settings`: from the configuration (settings.ts). */
export async function syncSchema(
  database: Database,
  settings: MigrationSettings = DEFAULT_MIGRATION_SETTINGS,
): Promise<string[]> {
  await schemaStatus(database); // refuses a newer schema before touching anything
  const { error, results } = await migrator(database, settings).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new DatabaseError(`migration ${failed} failed on ${database.description}: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * For services at start-up: every migration this code knows must be applied. Newer ones are fine (a
 * rolling upgrade migrated the database first) and only logged.
 */
export async function assertSchemaCurrent(database: Database): Promise<void> {
  const status = await readSchemaStatus(database);
  if (status.unknown.length) {
    getLogger('db').warn(
      { newer_migrations: status.unknown },
      `the database schema of ${database.description} is newer than this code; fine while the cloud is upgraded, ` +
        'upgrade this service next',
    );
  }
  if (status.pending.length) {
    throw new DatabaseError(
      `the database schema of ${database.description} is not up to date (${status.pending.length} pending ` +
        `migration(s): ${status.pending.join(', ')}). Run 'stratus-manage db sync' first.`,
    );
  }
}

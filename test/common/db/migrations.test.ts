/**
 * Schema migrations on every engine: sync applies every migration once and creates every table and column of
 * schema.ts; a newer schema and an empty one are refused with what to do; an unreachable server is named.
 */
import assert from 'node:assert/strict';
import { packageRoot } from '../../../src/common/package-root.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Dialect } from '../../../src/common/db/connection-url.ts';
import { openDatabase, type Database } from '../../../src/common/db/database.ts';
import { assertSchemaCurrent, schemaStatus, syncSchema } from '../../../src/common/db/migrator.ts';
import { DatabaseError } from '../../../src/common/errors.ts';
import type { MigrationDb } from '../../../src/common/db/migrations/column-helpers.ts';
import { MIGRATIONS } from '../../../src/common/db/migrations/index.ts';
import { DEFAULT_MIGRATION_SETTINGS } from '../../../src/common/db/migrations/settings.ts';
import { createScratchDatabase } from '../../helpers/database.ts';
import { insertTestInstance } from '../../helpers/instance-rows.ts';
import { testSpec } from '../../helpers/request-spec.ts';

/** Tables and their columns as schema.ts declares them (read from its source, so the test follows it). */
function declaredSchema(): Map<string, string[]> {
  const source = readFileSync(join(packageRoot(), 'src/common/db/schema.ts'), 'utf8');
  const body = (name: string) => {
    const m = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(source);
    assert.ok(m?.[1], `interface ${name} not found in schema.ts`);
    return m[1];
  };
  const fields = (text: string) => [...text.matchAll(/^ {2}(\w+): ([\w<>]+)/gm)].map((m) => [m[1]!, m[2]!] as const);
  return new Map(fields(body('Schema')).map(([table, type]) => [table, fields(body(type)).map(([column]) => column)]));
}

/** An empty database of the dialect, with a way to drop it. */
async function emptyDatabase(dialect: Dialect): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect !== 'sqlite') return createScratchDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-migrate-'));
  return { url: `sqlite:///${dir}/s.sqlite`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

const schema = declaredSchema();
const ALL = [
  '0001-initial',
  '0002-token-indexes',
  '0003-aggregates-server-groups',
  '0004-resource-usages',
  '0005-storage-tiers',
  '0006-compute-node-capabilities',
  '0009-console-auth-tokens',
  '0010-disk-snapshots',
  '0011-scheduler-view-changes',
  '0012-usage-limits',
  '0013-key-pairs',
  '0014-quotas',
  '0015-server-lifecycle',
  '0016-service-catalog',
  '0017-instance-disk-config',
  '0018-required-wire-fields',
  '0021-shelved-instances',
  '0022-networking',
  '0024-instance-networks',
  '0027-migrations',
  '0028-token-revocation-events',
  '0029-move-quota',
  '0030-live-migration-progress',
  '0031-network-tag-collation',
];

// The engines run side by side (MariaDB DDL is slow); the steps of each engine run in order.
describe('migrations', { concurrency: true }, () => {
  for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
    describe(`on ${dialect}`, { concurrency: 1 }, () => {
      let scratch: { url: string; drop: () => Promise<void> };
      let database: Database;
      before(async () => {
        scratch = await emptyDatabase(dialect);
        database = await openDatabase(scratch.url);
      });
      after(async () => {
        await database?.close();
        await scratch?.drop();
      });

      it("assertSchemaCurrent on an empty database says to run 'stratus-manage db sync'", async () => {
        await assert.rejects(assertSchemaCurrent(database), (err: unknown) => {
          assert.ok(err instanceof DatabaseError, String(err));
          assert.ok(
            err.message.includes(`not up to date (${ALL.length} pending migration(s): ${ALL.join(', ')})`),
            err.message,
          );
          assert.match(err.message, /Run 'stratus-manage db sync' first/);
          return true;
        });
      });

      it('sync applies every migration, then nothing the second time', async () => {
        assert.deepEqual(await syncSchema(database), [...ALL]);
        assert.deepEqual(await syncSchema(database), []);
        await assertSchemaCurrent(database);
        const status = await schemaStatus(database);
        assert.deepEqual(status, { known: ALL.length, applied: [...ALL], pending: [] });
      });

      it('creates every table and column of schema.ts', async () => {
        assert.ok(schema.size >= 20, `schema.ts parsed to ${schema.size} tables`);
        const tables = await database.db.introspection.getTables();
        const actual = new Map(tables.map((t) => [t.name, t.columns.map((c) => c.name)]));
        for (const [table, columns] of schema) {
          const have = actual.get(table);
          assert.ok(have, `table ${table} is missing on ${dialect}`);
          assert.deepEqual([...have].sort(), [...columns].sort(), `columns of ${table} on ${dialect}`);
        }
        const undeclared = [...actual.keys()].filter((t) => !schema.has(t) && !t.startsWith('stratus_migration'));
        assert.deepEqual(undeclared, [], 'tables the schema does not declare');
      });

      it('db sync refuses a database with a migration this code does not know; a service runs on it', async () => {
        await sql`insert into stratus_migration (name, timestamp) values (${'9999-from-the-future'}, ${new Date().toISOString()})`.execute(
          database.db,
        );
        try {
          const newer = (err: unknown) => {
            assert.ok(err instanceof DatabaseError, String(err));
            assert.match(err.message, /schema of .* is newer than this code/);
            assert.match(err.message, /9999-from-the-future/);
            assert.match(err.message, /Upgrade Stratus/);
            return true;
          };
          await assert.rejects(syncSchema(database), newer);
          // A service of the previous release, restarted during a rolling upgrade: migrations only add.
          await assertSchemaCurrent(database);
        } finally {
          await sql`delete from stratus_migration where name = ${'9999-from-the-future'}`.execute(database.db);
        }
        await assertSchemaCurrent(database);
      });
    });
  }
});

// A data migration: rows written before it get what it computes, on every engine.
describe('0012-usage-limits on existing usage rows', { concurrency: true }, () => {
  for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
    it(`copies each inventory's limits onto its usage row on ${dialect}, NULL where none`, async () => {
      const scratch = await emptyDatabase(dialect);
      const database = await openDatabase(scratch.url);
      try {
        const at = MIGRATIONS.findIndex((m) => m.name === '0012-usage-limits');
        for (const m of MIGRATIONS.slice(0, at)) await m.up(database.db, dialect, DEFAULT_MIGRATION_SETTINGS);
        const inventory = { min_unit: 1, max_unit: 64, step_size: 1 };
        await database.db
          .insertInto('inventories')
          .values([
            {
              resource_provider_id: 1,
              resource_class: 'VCPU',
              total: 10,
              reserved: 0,
              allocation_ratio: 0.9,
              ...inventory,
            },
            {
              resource_provider_id: 1,
              resource_class: 'DISK_GB',
              total: 100,
              reserved: 3,
              allocation_ratio: 1,
              step_size: 2,
              min_unit: 2,
              max_unit: 50,
            },
          ])
          .execute();
        await sql`insert into resource_usages (resource_provider_id, resource_class, used)
          values (1, 'VCPU', 4), (1, 'DISK_GB', 0), (1, 'MEMORY_MB', 512)`.execute(database.db);
        await MIGRATIONS[at]!.up(database.db, dialect, DEFAULT_MIGRATION_SETTINGS);
        const rows = await database.db
          .selectFrom('resource_usages')
          .select(['resource_class', 'used', 'capacity', 'min_unit', 'max_unit', 'step_size'])
          .orderBy('resource_class')
          .execute();
        assert.deepEqual(rows, [
          { resource_class: 'DISK_GB', used: 0, capacity: 97, min_unit: 2, max_unit: 50, step_size: 2 },
          { resource_class: 'MEMORY_MB', used: 512, capacity: null, min_unit: null, max_unit: null, step_size: null },
          { resource_class: 'VCPU', used: 4, capacity: 9, min_unit: 1, max_unit: 64, step_size: 1 },
        ]);
      } finally {
        await database.close();
        await scratch.drop();
      }
    });
  }
});

describe('openDatabase to a server that is not there', () => {
  for (const [url, where] of [
    ['mysql://root@127.0.0.1:1/x', 'MariaDB/MySQL root@127.0.0.1:1/x'],
    ['postgresql://postgres@127.0.0.1:1/x', 'PostgreSQL postgres@127.0.0.1:1/x'],
  ] as const) {
    it(`fails at once naming host:port (${url})`, async () => {
      const started = Date.now();
      await assert.rejects(openDatabase(url, { maxRetries: 0 }), (err: unknown) => {
        assert.ok(err instanceof DatabaseError, String(err));
        assert.ok(err.message.includes(`cannot connect to ${where}`), err.message);
        assert.match(err.message, /Is (MariaDB|PostgreSQL) running\? Start it with: /);
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'maxRetries 0 must not wait');
    });
  }

  it('retries maxRetries times before giving up', async () => {
    const started = Date.now();
    await assert.rejects(
      openDatabase('mysql://root@127.0.0.1:1/x', { maxRetries: 2, retryIntervalMs: 50 }),
      DatabaseError,
    );
    assert.ok(Date.now() - started >= 100, 'two retries of 50 ms each');
  });
});

describe('0018-required-wire-fields', { concurrency: true }, () => {
  for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
    it(`gives instances and request specs written before storage tiers the configured default on ${dialect}`, async () => {
      const scratch = await emptyDatabase(dialect);
      const database = await openDatabase(scratch.url);
      try {
        const at = MIGRATIONS.findIndex((m) => m.name === '0018-required-wire-fields');
        for (const m of MIGRATIONS.slice(0, at)) await m.up(database.db, dialect, DEFAULT_MIGRATION_SETTINGS);
        const [old, tiered] = [await insertTestInstance(database.db), await insertTestInstance(database.db)];
        // As the rows of the first release were: no tier on the instance, none in its spec.
        await sql`update instances set storage_tier = null where uuid = ${old}`.execute(database.db);
        await database.db.updateTable('instances').set({ storage_tier: 'ssd' }).where('uuid', '=', tiered).execute();
        const { storage_tier: _tier, ...untiered } = testSpec();
        await database.db
          .insertInto('request_specs')
          .values([
            { instance_uuid: old, spec: JSON.stringify(untiered) },
            { instance_uuid: tiered, spec: JSON.stringify(testSpec({}, { storage_tier: 'ssd' })) },
          ])
          .execute();
        await MIGRATIONS[at]!.up(database.db, dialect, { defaultStorageTier: 'pcie_ssd' });
        const tiers = await database.db.selectFrom('instances').select(['uuid', 'storage_tier']).execute();
        assert.deepEqual(
          Object.fromEntries(tiers.map((r) => [r.uuid, r.storage_tier])),
          { [old]: 'pcie_ssd', [tiered]: 'ssd' },
          'the tierless instance gets the default, the other keeps its own',
        );
        const specs = await database.db.selectFrom('request_specs').select(['instance_uuid', 'spec']).execute();
        const spec = (uuid: string) => JSON.parse(specs.find((r) => r.instance_uuid === uuid)!.spec) as unknown;
        assert.deepEqual(spec(old), { ...untiered, storage_tier: 'pcie_ssd' });
        assert.deepEqual(spec(tiered), testSpec({}, { storage_tier: 'ssd' }));
      } finally {
        await database.close();
        await scratch.drop();
      }
    });
  }
});

describe('0029-move-quota', { concurrency: true }, () => {
  for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
    it(`gives unfinished moves their peak and resized instances their flavor's figures on ${dialect}`, async () => {
      const scratch = await emptyDatabase(dialect);
      const database = await openDatabase(scratch.url);
      const db = database.db;
      try {
        const at = MIGRATIONS.findIndex((m) => m.name === '0029-move-quota');
        for (const m of MIGRATIONS.slice(0, at)) await m.up(db, dialect, DEFAULT_MIGRATION_SETTINGS);
        const [resized, untouched] = [await insertTestInstance(db), await insertTestInstance(db)];
        const small = { id: 1, vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0 };
        const large = { id: 7, vcpus: 4, memory_mb: 256, root_gb: 2, ephemeral_gb: 0 };
        // As a resize of the previous release left it: the new flavor's JSON, the old flavor's columns.
        await db
          .updateTable('instances')
          .set({ flavor: JSON.stringify(large) })
          .where('uuid', '=', resized)
          .execute();
        const move = (uuid: string, instance: string, status: string) => ({
          uuid,
          instance_uuid: instance,
          migration_type: 'resize',
          status,
          old_flavor: JSON.stringify(small),
          new_flavor: JSON.stringify(large),
          created_at: '2026-01-01 00:00:00',
        });
        await (db as unknown as MigrationDb)
          .insertInto('migrations')
          .values([move('m-open', resized, 'finished'), move('m-done', resized, 'confirmed')])
          .execute();
        await MIGRATIONS[at]!.up(db, dialect, DEFAULT_MIGRATION_SETTINGS);
        const peaks = await db.selectFrom('migrations').select(['uuid', 'peak_vcpus', 'peak_memory_mb']).execute();
        assert.deepEqual(Object.fromEntries(peaks.map((r) => [r.uuid, [r.peak_vcpus, r.peak_memory_mb]])), {
          'm-open': [4, 512],
          'm-done': [null, null],
        });
        const rows = await db
          .selectFrom('instances')
          .select(['uuid', 'instance_type_id', 'vcpus', 'memory_mb'])
          .execute();
        const figures = (uuid: string) => {
          const row = rows.find((r) => r.uuid === uuid)!;
          return [row.instance_type_id, row.vcpus, row.memory_mb];
        };
        assert.deepEqual(figures(resized), [7, 4, 256]);
        assert.deepEqual(figures(untouched).slice(1), [1, 512]);
      } finally {
        await database.close();
        await scratch.drop();
      }
    });
  }
});

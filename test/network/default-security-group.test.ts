/**
 * The default security group under concurrency: several "API processes" (separate connection pools on
 * one database) seeing a new project at once make exactly one default group, on every engine.
 */
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { openDatabase } from '../../src/common/db/database.ts';
import { ensureDefaultSecurityGroup } from '../../src/network/default-security-group.ts';
import { describeOnEachEngine } from '../helpers/database.ts';

describeOnEachEngine('default security group race', (database) => {
  it('is made once when many first uses race', async () => {
    const url = database().url;
    // SQLite's in-memory database is one connection: the race is then within one process.
    const pools = url === 'sqlite://' ? [database()] : await Promise.all([1, 2, 3].map(() => openDatabase(url)));
    try {
      for (const project of ['p-race-1', 'p-race-2', 'p-race-3']) {
        const ids = await Promise.all(
          Array.from({ length: 12 }, (_, i) => ensureDefaultSecurityGroup(pools[i % pools.length]!.db, project)),
        );
        assert.equal(new Set(ids).size, 1, `one id for ${project}`);
        const groups = await database()
          .db.selectFrom('security_groups')
          .select('id')
          .where('project_id', '=', project)
          .execute();
        assert.deepEqual(
          groups.map((g) => g.id),
          [ids[0]],
        );
        const rules = await database()
          .db.selectFrom('security_group_rules')
          .select('id')
          .where('security_group_id', '=', ids[0]!)
          .execute();
        assert.equal(rules.length, 4);
      }
    } finally {
      if (url !== 'sqlite://') await Promise.all(pools.map((p) => p.close()));
    }
  });
});

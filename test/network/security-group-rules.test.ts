/**
 * Duplicate rules under concurrency: several "API processes" (separate connection pools on one
 * database) adding the same rule to a group at once store it once, on every engine; the others are
 * told it exists.
 */
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { openDatabase } from '../../src/common/db/database.ts';
import { SecurityGroupRuleExists } from '../../src/network/security-group-errors.ts';
import { createSecurityGroupRule } from '../../src/network/security-group-rules.ts';
import { createSecurityGroup } from '../../src/network/security-groups.ts';
import { describeOnEachEngine } from '../helpers/database.ts';

describeOnEachEngine('duplicate security group rule race', (database) => {
  it('stores one of many identical rules added at once', async () => {
    const url = database().url;
    const ctx = adminContext();
    const group = await createSecurityGroup(database().db, ctx, { project_id: 'p-rule-race', name: 'g' });
    const pools = url === 'sqlite://' ? [database()] : await Promise.all([1, 2, 3].map(() => openDatabase(url)));
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 9 }, (_, i) =>
          createSecurityGroupRule(pools[i % pools.length]!.db, ctx, {
            project_id: 'p-rule-race',
            security_group_id: group.id,
            direction: 'ingress',
            // The same rule, spelled three ways.
            protocol: ['tcp', '6', 'TCP'][i % 3],
            port_range_min: 443,
            port_range_max: 443,
          }),
        ),
      );
      const stored = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(stored.length, 1, JSON.stringify(refused.map((r) => String(r.reason))));
      assert.ok(
        refused.every((r) => r.reason instanceof SecurityGroupRuleExists),
        String(refused[0]?.reason),
      );
      const rules = await database()
        .db.selectFrom('security_group_rules')
        .select('id')
        .where('security_group_id', '=', group.id)
        .where('port_range_min', '=', 443)
        .execute();
      assert.equal(rules.length, 1);
    } finally {
      if (url !== 'sqlite://') await Promise.all(pools.map((p) => p.close()));
    }
  });
});

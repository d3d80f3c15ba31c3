/**
 * Server groups on every engine: create with policy and rules, project-scoped lookups and listings,
 * members (deleted servers drop out), delete, and the scheduler's reads: where the members run.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NotFound } from '../../src/common/errors.ts';
import {
  addServerGroupMembers,
  createServerGroup,
  deleteServerGroup,
  findServerGroup,
  getServerGroup,
  hostsOfGroupMembers,
  listServerGroups,
  memberCountsByHost,
  serverGroupOfInstance,
} from '../../src/objects/server-groups.ts';
import { markInstanceDeleted } from '../../src/objects/instances.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

/** An anti-affinity group of user u1 in project p1, but for its name. */
const P1 = { userId: 'u1', projectId: 'p1', policy: 'anti-affinity' } as const;

describeOnEachEngine('server groups', (database) => {
  it('creates, finds within a project, lists and deletes', async () => {
    const db = database().db;
    const g1 = await createServerGroup(db, { ...P1, name: 'web', rules: { max_server_per_host: 2 } });
    assert.match(g1.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { name: g1.name, user: g1.user_id, project: g1.project_id, policy: g1.policy, rules: g1.rules },
      { name: 'web', user: 'u1', project: 'p1', policy: 'anti-affinity', rules: { max_server_per_host: 2 } },
    );
    assert.deepEqual(g1.members, []);
    const g2 = await createServerGroup(db, { name: 'web', userId: 'u2', projectId: 'p2', policy: 'affinity' });
    assert.deepEqual(g2.rules, {});

    assert.equal((await getServerGroup(db, g1.uuid, 'p1')).id, g1.id);
    assert.equal((await getServerGroup(db, g1.uuid, null)).id, g1.id);
    assert.equal(await findServerGroup(db, g1.uuid, 'p2'), null);
    await assert.rejects(getServerGroup(db, g1.uuid, 'p2'), (err: unknown) => {
      assert.ok(err instanceof NotFound);
      assert.equal(err.message, `Instance group ${g1.uuid} could not be found.`);
      return true;
    });

    assert.deepEqual(
      (await listServerGroups(db, { projectId: 'p1' })).map((g) => g.uuid),
      [g1.uuid],
    );
    assert.deepEqual(
      (await listServerGroups(db, { projectId: null })).map((g) => g.uuid),
      [g1.uuid, g2.uuid],
    );
    assert.deepEqual(
      (await listServerGroups(db, { projectId: null, limit: 1, offset: 1 })).map((g) => g.uuid),
      [g2.uuid],
    );
    assert.deepEqual(
      (await listServerGroups(db, { projectId: null, offset: 1 })).map((g) => g.uuid),
      [g2.uuid],
    );

    await assert.rejects(deleteServerGroup(db, g2.uuid, 'p1'), NotFound);
    await deleteServerGroup(db, g2.uuid, 'p2');
    await deleteServerGroup(db, g1.uuid, null);
    assert.deepEqual(await listServerGroups(db, { projectId: null }), []);
  });

  it('shows live members and tells the scheduler where they run', async () => {
    const db = database().db;
    const group = await createServerGroup(db, { ...P1, name: 'spread' });
    const a = await insertTestInstance(db, { host: 'h1' });
    const b = await insertTestInstance(db, { host: 'h1' });
    const c = await insertTestInstance(db, { host: 'h2' });
    const unplaced = await insertTestInstance(db);
    const gone = await insertTestInstance(db, { host: 'h3' });
    await addServerGroupMembers(db, group.id, [a, b, c, unplaced, gone]);
    await addServerGroupMembers(db, group.id, []);
    assert.deepEqual((await getServerGroup(db, group.uuid, 'p1')).members, [a, b, c, unplaced, gone]);
    assert.deepEqual(await hostsOfGroupMembers(db, group.uuid), ['h1', 'h2', 'h3']);

    await markInstanceDeleted(db, gone);
    assert.deepEqual((await getServerGroup(db, group.uuid, 'p1')).members, [a, b, c, unplaced]);
    assert.deepEqual(await hostsOfGroupMembers(db, group.uuid), ['h1', 'h2']);
    assert.deepEqual([...(await memberCountsByHost(db, group.uuid))].sort(), [
      ['h1', 2],
      ['h2', 1],
    ]);
    assert.deepEqual(await hostsOfGroupMembers(db, group.uuid, [c]), ['h1']);
    assert.equal((await serverGroupOfInstance(db, b))?.uuid, group.uuid);
    assert.equal(await serverGroupOfInstance(db, await insertTestInstance(db)), null);

    // An instance is in one group at most.
    const other = await createServerGroup(db, { name: 'x', userId: 'u1', projectId: 'p1', policy: 'affinity' });
    await assert.rejects(addServerGroupMembers(db, other.id, [a]));
    await deleteServerGroup(db, group.uuid, 'p1');
    assert.equal(await serverGroupOfInstance(db, a), null);
    assert.deepEqual(await hostsOfGroupMembers(db, group.uuid), []);
  });
});

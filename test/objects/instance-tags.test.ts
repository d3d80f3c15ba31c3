/**
 * Server tags and the server password on every engine: tags compare exactly (MariaDB's default collation
 * would fold case), the four list filters select as Nova's do, the count limit holds, tags go with their
 * server, and the guest's password is set only once until cleared.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import {
  addTag,
  hasTag,
  MAX_TAGS,
  removeTag,
  replaceTags,
  tagsOfInstance,
  tagsOfInstances,
  type TagFilter,
} from '../../src/objects/instance-tags.ts';
import { listInstances, markInstanceDeleted } from '../../src/objects/instances.ts';
import {
  clearServerPassword,
  MAX_PASSWORD_LENGTH,
  serverPassword,
  setServerPasswordOnce,
} from '../../src/objects/server-password.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

const PROJECT = 'tagging';

describeOnEachEngine('server tags and passwords', (database) => {
  /** name -> uuid of servers tagged: a [web, prod], b [web], c [db, prod], d none. */
  const servers = new Map<string, string>();

  before(async () => {
    const db = database().db;
    for (const [name, tags] of [
      ['a', ['web', 'prod']],
      ['b', ['web']],
      ['c', ['db', 'prod']],
      ['d', []],
    ] as const) {
      const uuid = await insertTestInstance(db, { project: PROJECT });
      await replaceTags(db, uuid, tags);
      servers.set(name, uuid);
    }
  });

  async function listed(tags: TagFilter): Promise<string[]> {
    const found = await listInstances(database().db, { projectId: PROJECT, limit: 100, tags });
    const names = new Map([...servers].map(([name, uuid]) => [uuid, name]));
    return found.map((i) => names.get(i.uuid)!).sort();
  }

  it('filters lists by all, any, not all and none of the tags', async () => {
    assert.deepEqual(await listed({ all: ['web', 'prod'] }), ['a']);
    assert.deepEqual(await listed({ all: ['web'] }), ['a', 'b']);
    assert.deepEqual(await listed({ any: ['db', 'web'] }), ['a', 'b', 'c']);
    assert.deepEqual(await listed({ notAll: ['web', 'prod'] }), ['b', 'c', 'd']);
    assert.deepEqual(await listed({ notAny: ['web', 'db'] }), ['d']);
    assert.deepEqual(await listed({ any: ['prod'], notAny: ['db'] }), ['a']);
    assert.deepEqual(await listed({ all: ['WEB'] }), [], 'exact match: no case folding');
  });

  it('keeps tags that differ only in case apart, in order', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { project: 'other' });
    assert.deepEqual(await replaceTags(db, uuid, ['b', 'Web', 'web', 'a', 'a']), ['Web', 'a', 'b', 'web']);
    assert.equal(await addTag(db, uuid, 'WEB'), 'created');
    assert.equal(await addTag(db, uuid, 'web'), 'exists');
    assert.equal(await hasTag(db, uuid, 'wEb'), false);
    assert.equal(await removeTag(db, uuid, 'wEB'), false);
    assert.equal(await removeTag(db, uuid, 'WEB'), true);
    assert.deepEqual((await tagsOfInstances(db, [uuid, servers.get('d')!])).get(uuid), ['Web', 'a', 'b', 'web']);
  });

  it('refuses a tag beyond the limit, and deletes tags with their server', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { project: 'other' });
    await replaceTags(
      db,
      uuid,
      Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`),
    );
    assert.equal(await addTag(db, uuid, 'one-more'), 'full');
    assert.equal(await addTag(db, uuid, 't1'), 'full', 'the count is checked first, as Nova does');
    await markInstanceDeleted(db, uuid);
    assert.deepEqual(await tagsOfInstance(db, uuid), []);
  });

  it('holds the limit when adds race', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { project: 'other' });
    await replaceTags(
      db,
      uuid,
      Array.from({ length: MAX_TAGS - 5 }, (_, i) => `t${i}`),
    );
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => addTag(db, uuid, `race${i}`)));
    assert.equal(outcomes.filter((o) => o === 'created').length, 5);
    assert.equal(outcomes.filter((o) => o === 'full').length, 5);
    assert.equal((await tagsOfInstance(db, uuid)).length, MAX_TAGS);
  });

  it('sets the password once until it is cleared', async () => {
    const db = database().db;
    const uuid = await insertTestInstance(db, { project: 'other' });
    assert.equal(await serverPassword(db, uuid), '');
    const long = 'x'.repeat(MAX_PASSWORD_LENGTH);
    await setServerPasswordOnce(db, uuid, long);
    assert.equal(await serverPassword(db, uuid), long);
    await assert.rejects(setServerPasswordOnce(db, uuid, 'again'), { name: 'Conflict' });
    await clearServerPassword(db, uuid);
    assert.equal(await serverPassword(db, uuid), '');
    await assert.rejects(setServerPasswordOnce(db, uuid, long + 'x'), { name: 'BadRequest' });
    await setServerPasswordOnce(db, uuid, 'second');
    assert.equal(await serverPassword(db, uuid), 'second');
    await markInstanceDeleted(db, uuid);
    await assert.rejects(setServerPasswordOnce(db, uuid, 'gone'), { name: 'NotFound' });
  });
});

/**
 * Console tokens on every engine: a token opens its connection once, not after it expired, not after
 * its instance was deleted; only its hash is stored; racing consumers get it at most once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import {
  consoleUrl,
  consumeConsoleToken,
  issueConsoleToken,
  type ConsoleConnection,
} from '../../src/objects/console-auth-tokens.ts';
import { markInstanceDeleted } from '../../src/objects/instances.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

const BASE = 'http://console.example.com:6080/vnc_auto.html';

describeOnEachEngine('console auth tokens', (database) => {
  const db = () => database().db;
  const connectionFor = (instanceUuid: string): ConsoleConnection => ({
    instanceUuid,
    consoleType: 'novnc',
    host: '192.0.2.7',
    port: 5901,
  });

  it('opens its connection once, then never again', async () => {
    const uuid = await insertTestInstance(db(), { host: 'cmp-1' });
    const issued = await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    assert.equal(issued.url, consoleUrl(BASE, issued.token));
    assert.deepEqual(await consumeConsoleToken(db(), issued.token), connectionFor(uuid));
    assert.equal(await consumeConsoleToken(db(), issued.token), null);
  });

  it('keeps only the hash of the token', async () => {
    const uuid = await insertTestInstance(db(), { host: 'cmp-1' });
    const issued = await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    const rows = await db().selectFrom('console_auth_tokens').selectAll().where('instance_uuid', '=', uuid).execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.token_hash, createHash('sha256').update(issued.token).digest('hex'));
    assert.ok(!JSON.stringify(rows).includes(issued.token));
  });

  it('refuses an expired token, and removes expired tokens when the next one is issued', async () => {
    const uuid = await insertTestInstance(db(), { host: 'cmp-1' });
    const old = await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    const stale = await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    const past = new Date(Date.now() - 1000).toISOString();
    const hashOf = (t: string) => createHash('sha256').update(t).digest('hex');
    await db()
      .updateTable('console_auth_tokens')
      .set({ expires: past })
      .where('token_hash', 'in', [hashOf(old.token), hashOf(stale.token)])
      .execute();
    assert.equal(await consumeConsoleToken(db(), old.token), null);
    await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    const left = await db()
      .selectFrom('console_auth_tokens')
      .select('token_hash')
      .where('token_hash', '=', hashOf(stale.token))
      .execute();
    assert.deepEqual(left, []);
  });

  it('dies with its instance', async () => {
    const uuid = await insertTestInstance(db(), { host: 'cmp-1' });
    const other = await insertTestInstance(db(), { host: 'cmp-1' });
    const issued = await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    const kept = await issueConsoleToken(db(), connectionFor(other), BASE, 600);
    await markInstanceDeleted(db(), uuid);
    const rows = await db().selectFrom('console_auth_tokens').select('id').where('instance_uuid', '=', uuid).execute();
    assert.deepEqual(rows, []);
    assert.equal(await consumeConsoleToken(db(), issued.token), null);
    assert.deepEqual(await consumeConsoleToken(db(), kept.token), connectionFor(other));
  });

  it('lets one of many racing connections through', async () => {
    const uuid = await insertTestInstance(db(), { host: 'cmp-1' });
    const issued = await issueConsoleToken(db(), connectionFor(uuid), BASE, 600);
    const results = await Promise.all(Array.from({ length: 5 }, () => consumeConsoleToken(db(), issued.token)));
    assert.equal(results.filter((r) => r !== null).length, 1);
  });

  it('refuses a token it never issued', async () => {
    assert.equal(await consumeConsoleToken(db(), 'not-a-token'), null);
  });
});

it('puts the token in the websocket path noVNC reads from its path parameter, connecting at once', () => {
  assert.equal(consoleUrl(BASE, 'abc-123'), `${BASE}?autoconnect=true&path=%3Ftoken%3Dabc-123`);
  assert.equal(consoleUrl(`${BASE}?autoconnect=0`, 'abc'), `${BASE}?autoconnect=0&path=%3Ftoken%3Dabc`);
  assert.equal(consoleUrl(`${BASE}?resize=scale`, 'abc'), `${BASE}?resize=scale&autoconnect=true&path=%3Ftoken%3Dabc`);
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../../src/common/db/database.ts';
import { Unauthorized } from '../../../src/common/errors.ts';
import { TokenService } from '../../../src/api/auth/token-service.ts';
import {
  eventMatches,
  RevocationFeed,
  type RevocableToken,
  type RevocationEvent,
} from '../../../src/api/auth/revocation-feed.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { call, login, makeMember, startIdentity, type Harness } from '../identity/harness.ts';

const token: RevocableToken = {
  userId: 'u1',
  userDomainId: 'd-user',
  projectId: 'p1',
  projectDomainId: 'd-project',
  domainId: null,
};

test('an event matches the tokens of its subject and no others', () => {
  const subject = (userId: string | null, projectId: string | null, domainId: string | null): RevocationEvent => ({
    kind: 'subject',
    userId,
    projectId,
    domainId,
  });
  assert.ok(eventMatches({ kind: 'token', tokenHash: 'h' }, token, 'h'));
  assert.ok(!eventMatches({ kind: 'token', tokenHash: 'h' }, token, 'other'));
  assert.ok(eventMatches(subject('u1', null, null), token, 'h'));
  assert.ok(eventMatches(subject(null, 'p1', null), token, 'h'));
  assert.ok(eventMatches(subject('u1', 'p1', null), token, 'h'));
  assert.ok(!eventMatches(subject('u1', 'p2', null), token, 'h'));
  assert.ok(!eventMatches(subject('u2', null, null), token, 'h'));
  assert.ok(!eventMatches(subject('u1', null, 'd-project'), token, 'h'), 'a domain grant is not a project token');
  assert.ok(eventMatches(subject(null, null, null), token, 'h'), 'all wildcards: every token');
  assert.ok(eventMatches({ kind: 'domain', domainId: 'd-user' }, token, 'h'));
  assert.ok(eventMatches({ kind: 'domain', domainId: 'd-project' }, token, 'h'));
  assert.ok(!eventMatches({ kind: 'domain', domainId: 'd-other' }, token, 'h'));
});

describe('the feed', () => {
  let database: TestDatabase;
  before(async () => (database = await openTestDatabase()));
  after(() => database.close());

  function feed(received: RevocationEvent[] = []): RevocationFeed {
    return new RevocationFeed(database.db, { retentionMs: 60_000, onEvents: (e) => void received.push(...e) });
  }

  test('delivers what another feed publishes, once', async () => {
    const received: RevocationEvent[] = [];
    const reader = feed(received);
    await reader.start();
    try {
      const event: RevocationEvent = { kind: 'subject', userId: 'feed-user', projectId: null, domainId: null };
      await feed().publish(event);
      await reader.pollNow();
      await reader.pollNow();
      assert.deepEqual(
        received.filter((e) => e.kind === 'subject' && e.userId === 'feed-user'),
        [event],
      );
      assert.equal(reader.revokedSince(Date.now() - 1000, { ...token, userId: 'feed-user' }, 'h'), true);
      assert.equal(reader.revokedSince(Date.now() - 1000, token, 'h'), false);
    } finally {
      await reader.stop();
    }
  });

  test('sees a row whose id was committed after a higher one', async () => {
    const received: RevocationEvent[] = [];
    const reader = feed(received);
    await reader.start();
    try {
      const row = (id: number, hash: string) =>
        database.db
          .insertInto('token_revocation_events')
          .values({ id, kind: 'token', token_hash: hash, created_at: Date.now() })
          .execute();
      await row(1_000_000, 'late-high');
      await reader.pollNow();
      // A lower id than the reader has already seen, as a transaction that committed late leaves it.
      await row(999_999, 'late-low');
      await reader.pollNow();
      assert.ok(received.some((e) => e.kind === 'token' && e.tokenHash === 'late-low'));
    } finally {
      await reader.stop();
    }
  });

  test('does not vouch for times before it started', async () => {
    const reader = feed();
    assert.equal(reader.revokedSince(Date.now(), token, 'h'), undefined, 'not started');
    await reader.start();
    try {
      assert.equal(reader.revokedSince(Date.now() - 120_000, token, 'h'), undefined);
      assert.equal(reader.revokedSince(Date.now(), token, 'h'), false);
    } finally {
      await reader.stop();
    }
  });

  test('events older than the retention are purged', async () => {
    await database.db
      .insertInto('token_revocation_events')
      .values({ kind: 'token', token_hash: 'ancient', created_at: Date.now() - 3_600_000 })
      .execute();
    const reader = feed();
    await reader.start();
    await reader.stop();
    const left = await database.db
      .selectFrom('token_revocation_events')
      .select('id')
      .where('token_hash', '=', 'ancient')
      .execute();
    assert.deepEqual(left, []);
  });
});

/**
 * Two api processes on one MariaDB: the identity API of the first (with its own token service) and the token
 * service of a second, each on its own connection pool, the second polling at the default interval.
 */
describe('a change made on one api process is seen on another within two seconds', () => {
  let h: Harness;
  let otherDb: Database;
  let other: TokenService;
  before(async () => {
    h = await startIdentity({ dialect: 'mysql' });
    otherDb = await openDatabase(h.database.url);
    other = new TokenService(otherDb, h.config);
    await other.start();
  });
  after(async () => {
    await other.stop();
    await otherDb.close();
    await h.close();
  });

  /** Waits until the other process refuses the token, failing after two seconds. */
  async function refusedWithinTwoSeconds(tokenId: string): Promise<void> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const refused = await other.validate(tokenId).then(
        () => false,
        (err: unknown) => err instanceof Unauthorized || Promise.reject(err),
      );
      if (refused) return;
      if (Date.now() > deadline) assert.fail('the other api process still accepts the token after 2 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A member's project token, validated (and so cached) by the other process. */
  async function cachedElsewhere(name: string) {
    const ids = await makeMember(h, { user: name, project: `${name}-project` });
    const tokenId = await login(h, name, 'pw', `${name}-project`);
    await other.validate(tokenId);
    return { ...ids, tokenId };
  }

  const admin = () => ({ token: h.admin.token });

  test('revoking the token', async () => {
    const { tokenId } = await cachedElsewhere('rev-token');
    const res = await call(h, 'DELETE', '/v3/auth/tokens', {
      ...admin(),
      headers: { 'x-subject-token': tokenId },
    });
    assert.equal(res.status, 204);
    await refusedWithinTwoSeconds(tokenId);
  });

  test('deleting the user', async () => {
    const { tokenId, userId } = await cachedElsewhere('rev-user');
    assert.equal((await call(h, 'DELETE', `/v3/users/${userId}`, admin())).status, 204);
    await refusedWithinTwoSeconds(tokenId);
  });

  test('disabling the user', async () => {
    const { tokenId, userId } = await cachedElsewhere('rev-disable');
    const res = await call(h, 'PATCH', `/v3/users/${userId}`, { ...admin(), body: { user: { enabled: false } } });
    assert.equal(res.status, 200);
    await refusedWithinTwoSeconds(tokenId);
  });

  test('deleting the project', async () => {
    const { tokenId, projectId } = await cachedElsewhere('rev-project');
    assert.equal((await call(h, 'DELETE', `/v3/projects/${projectId}`, admin())).status, 204);
    await refusedWithinTwoSeconds(tokenId);
  });

  test('removing the role', async () => {
    const { tokenId, userId, projectId } = await cachedElsewhere('rev-role');
    const roles = await call(h, 'GET', '/v3/roles?name=member', admin());
    const roleId = roles.body.roles![0]!.id;
    const url = `/v3/projects/${projectId}/users/${userId}/roles/${roleId}`;
    assert.equal((await call(h, 'DELETE', url, admin())).status, 204);
    await refusedWithinTwoSeconds(tokenId);
  });

  test('a token nothing happened to stays valid there', async () => {
    const { tokenId } = await cachedElsewhere('rev-none');
    await other.pollRevocations();
    assert.equal((await other.validate(tokenId)).userName, 'rev-none');
  });
});

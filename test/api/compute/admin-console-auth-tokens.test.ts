/** os-console-auth-tokens: where a console token leads, by the hash of the token, for admins from 2.31. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consumeConsoleToken, issueConsoleToken } from '../../../src/objects/console-auth-tokens.ts';
import { markInstanceDeleted } from '../../../src/objects/instances.ts';
import { client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let server: string;

async function issue(instanceUuid: string, ttlSec = 600): Promise<string> {
  const connection = { instanceUuid, consoleType: 'novnc', host: '192.0.2.10', port: 5901 };
  return (await issueConsoleToken(h.database.db, connection, 'http://proxy:6080/vnc_auto.html', ttlSec)).token;
}

before(async () => {
  h = await startComputeApi();
  server = (await seedServer(h)).uuid;
});
after(async () => {
  await h.close();
});

describe('os-console-auth-tokens', () => {
  it('shows the console a token opens, without using the token up', async () => {
    const token = await issue(server);
    const res = await client(h.app, 'admin', '2.31').get(`/v2.1/os-console-auth-tokens/${token}`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      console: { instance_uuid: server, host: '192.0.2.10', port: 5901, internal_access_path: null },
    });
    assert.notEqual(await consumeConsoleToken(h.database.db, token), null, 'the token still opens its console');
  });

  it('is 404 for unknown, used, expired tokens and those of deleted servers', async () => {
    const admin = client(h.app, 'admin', 'latest');
    const used = await issue(server);
    await consumeConsoleToken(h.database.db, used);
    const expired = await issue(server, -1);
    const other = (await seedServer(h)).uuid;
    const ofDeleted = await issue(other);
    await h.database.db.updateTable('instances').set({ deleted: 1 }).where('uuid', '=', other).execute();
    for (const token of ['not-a-token', used, expired, ofDeleted]) {
      const res = await admin.get(`/v2.1/os-console-auth-tokens/${token}`);
      assert.equal(res.statusCode, 404);
      assert.equal(fault(res).message, 'Token not found');
    }
    await markInstanceDeleted(h.database.db, other);
  });

  it('is 400 before 2.31 and 403 for members', async () => {
    const token = await issue(server);
    const old = await client(h.app, 'admin', '2.30').get(`/v2.1/os-console-auth-tokens/${token}`);
    assert.equal(old.statusCode, 400);
    const member = await client(h.app, 'alice', '2.31').get(`/v2.1/os-console-auth-tokens/${token}`);
    assert.equal(member.statusCode, 403);
    assert.equal(fault(member).message, "Policy doesn't allow os_compute_api:os-console-auth-tokens to be performed.");
  });
});

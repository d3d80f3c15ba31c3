/** GET and DELETE /servers/{id}/os-server-password: what the guest posted, forgetting it, refusals. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markInstanceDeleted, type Instance } from '../../../src/objects/instances.ts';
import { serverPassword, setServerPasswordOnce } from '../../../src/objects/server-password.ts';
import { addComputeHost, client, seedServer, startComputeApi, type Harness } from './helpers.ts';
import { formatVersion, MAX_VERSION } from '../../../src/api/compute/microversion.ts';

/** The newest microversion Stratus serves. */
const LATEST = formatVersion(MAX_VERSION);

let h: Harness;

before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
});
after(async () => {
  await h.close();
});

const url = (s: Instance | string) => `/v2.1/servers/${typeof s === 'string' ? s : s.uuid}/os-server-password`;

describe('os-server-password', () => {
  it('answers "" until the guest posts, then the encrypted password, and forgets it on DELETE', async () => {
    const server = await seedServer(h);
    const empty = await client(h.app, 'alice').get(url(server));
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(empty.json(), { password: '' });

    const encrypted = 'c2VjcmV0'.repeat(60);
    await setServerPasswordOnce(h.database.db, server.uuid, encrypted);
    const shown = await client(h.app, 'alice', LATEST).get(url(server));
    assert.deepEqual(shown.json(), { password: encrypted });

    const cleared = await client(h.app, 'alice').delete(url(server));
    assert.equal(cleared.statusCode, 204);
    assert.deepEqual((await client(h.app, 'alice').get(url(server))).json(), { password: '' });
    // Cleared, the guest may post a new one.
    await setServerPasswordOnce(h.database.db, server.uuid, 'again');
    assert.equal(await serverPassword(h.database.db, server.uuid), 'again');
  });

  it('clears the password of a locked server, or of one in any state, as Nova does', async () => {
    const server = await seedServer(h, { state: { locked: 1, vm_state: 'error' } });
    await setServerPasswordOnce(h.database.db, server.uuid, 'p');
    assert.equal((await client(h.app, 'alice').delete(url(server))).statusCode, 204);
    assert.equal(await serverPassword(h.database.db, server.uuid), '');
  });

  it('answers 404 for other projects and unknown or deleted servers, changing nothing', async () => {
    const server = await seedServer(h);
    await setServerPasswordOnce(h.database.db, server.uuid, 'p');
    assert.equal((await client(h.app, 'bob').get(url(server))).statusCode, 404);
    assert.equal((await client(h.app, 'bob').delete(url(server))).statusCode, 404);
    assert.equal((await client(h.app, 'alice').get(url('00000000-0000-0000-0000-000000000000'))).statusCode, 404);
    assert.equal((await client(h.app, 'alice').get(url('not-a-uuid'))).statusCode, 404);
    assert.equal(await serverPassword(h.database.db, server.uuid), 'p');
    // Admins read and clear any project's.
    assert.deepEqual((await client(h.app, 'admin').get(url(server))).json(), { password: 'p' });
    assert.equal((await client(h.app, 'admin').delete(url(server))).statusCode, 204);
    await markInstanceDeleted(h.database.db, server.uuid);
    assert.equal((await client(h.app, 'alice').get(url(server))).statusCode, 404);
  });
});

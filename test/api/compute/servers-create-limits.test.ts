/**
 * POST /servers within `[api] max_servers_per_request`: max_count is lowered to it (as Nova lowers it to
 * what the quota leaves), a min_count above it is a 400 that writes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addComputeHost, client, countRows, fault, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi({ api: { max_servers_per_request: '4' } });
  await addComputeHost(h, 'host1');
});
after(async () => {
  await h.close();
});

const body = (server: Record<string, unknown>) => ({
  server: { name: 'many', imageRef: h.cirros.id, flavorRef: '1', ...server },
});

describe('POST /servers: servers per request', () => {
  it('lowers a huge max_count to the limit and creates that many', async () => {
    h.transport.casts.length = 0;
    const res = await client(h.app, 'alice').post('/v2.1/servers', body({ max_count: 2147483647 }));
    assert.equal(res.statusCode, 202, res.body);
    assert.equal((h.transport.casts[0]!.args['instance_uuids'] as string[]).length, 4);
  });

  it('refuses a min_count above the limit with a 400 and writes nothing', async () => {
    const before = await countRows(h, 'instances');
    const res = await client(h.app, 'alice').post('/v2.1/servers', body({ min_count: 5, max_count: 100000 }));
    assert.equal(res.statusCode, 400);
    assert.equal(
      fault(res).message,
      'min_count 5 is more than the 4 servers one request may create; create them in several requests.',
    );
    assert.equal(await countRows(h, 'instances'), before);
  });
});

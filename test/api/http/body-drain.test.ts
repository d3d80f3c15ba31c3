/**
 * A body over the limit, sent slowly by a client that reads only once it has written everything: every
 * API answers 413 and the client reads it (no ECONNRESET or EPIPE), whether the body has a length or is
 * chunked; a body that goes on past the drain bounds (bytes or time) is cut off and the server goes on
 * serving.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import { fakeTokens } from '../../helpers/fake-tokens.ts';
import { API_NAMES, startFourApis, type FourApis } from '../../helpers/four-apis.ts';
import { sendSlowBody, statusOf } from '../../helpers/slow-body.ts';

const OVER_LIMIT = 2 * 1024 * 1024 + 17;

/** A route of each API that takes a JSON body. */
const ROUTES = {
  identity: '/v3/auth/tokens',
  compute: '/v2.1/servers',
  image: '/v2/images',
  network: '/v2.0/networks',
} as const;

let apis: FourApis;
const ports = new Map<string, number>();

before(async () => {
  apis = await startFourApis();
  for (const name of API_NAMES) {
    await apis.apps[name].listen({ port: 0, host: '127.0.0.1' });
    ports.set(name, (apis.apps[name].server.address() as AddressInfo).port);
  }
});
after(async () => {
  await apis.close();
});

describe('a body over the limit is answered 413, and the client reads it', () => {
  for (const name of API_NAMES) {
    for (const chunked of [false, true]) {
      it(`${name}: ${chunked ? 'chunked' : 'with a Content-Length'}`, async () => {
        const result = await sendSlowBody({
          port: ports.get(name)!,
          path: ROUTES[name],
          headers: { 'x-auth-token': apis.admin.token },
          size: OVER_LIMIT,
          chunked,
        });
        assert.equal(result.error, null, `the client saw ${result.error} instead of the answer`);
        assert.equal(statusOf(result.answer), 413, result.answer.slice(0, 200));
        assert.equal(result.written, OVER_LIMIT, 'the client could write its whole body');
      });
    }
  }
});

describe('the drain is bounded', () => {
  let app: ApiServer;
  let port: number;

  before(async () => {
    app = createApiServer({
      kind: 'compute',
      tokens: fakeTokens,
      bodyLimit: 1024,
      bodyDrain: { maxBytes: 256 * 1024, maxMs: 300 },
    });
    app.post('/things', { config: { public: true } }, async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app.close();
  });

  it('a body past the byte bound is cut off before the client has written it all', async () => {
    const size = 64 * 1024 * 1024;
    const result = await sendSlowBody({ port, path: '/things', size, piece: 256 * 1024 });
    assert.ok(result.written < size, `the server read all ${result.written} bytes`);
    const next = await sendSlowBody({ port, path: '/things', size: 2 });
    assert.equal(statusOf(next.answer), 200, 'the server goes on answering');
  });

  it('a body that stops arriving is cut off once the time bound passes', async () => {
    const result = await sendSlowBody({ port, path: '/things', size: 100_000, piece: 1024, stallAfter: 4096 });
    // The client stalled and read meanwhile: it has the answer, then the server's end of the connection.
    assert.equal(statusOf(result.answer), 413);
    assert.equal(result.written, 4096);
  });

  it('a body under the limit is still taken', async () => {
    const res = await sendSlowBody({ port, path: '/things', size: 2 });
    // Blank, as an action without arguments sends: read, and taken as no body.
    assert.equal(statusOf(res.answer), 200);
  });
});

/**
 * The request limits every API shares (createApiServer): bodies nested too deep and bodies that are not
 * UTF-8 are refused with a 400 in the API's own error format, before any handler runs.
 */
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import type { ApiKind } from '../../../src/api/http/error-body.ts';
import { MAX_JSON_DEPTH } from '../../../src/api/http/json-body.ts';
import { fakeTokens } from '../../helpers/fake-tokens.ts';

const KINDS: ApiKind[] = ['compute', 'identity', 'image', 'network'];
const servers = new Map<ApiKind, ApiServer>();
let handled = 0;

before(async () => {
  for (const kind of KINDS) {
    const app = createApiServer({ kind, tokens: fakeTokens });
    // A route schema, as the identity routes have: its validator and message builder see the body.
    const schema = { body: { type: 'object', required: ['thing'], properties: { thing: { type: 'object' } } } };
    app.post('/things', { schema, config: { public: true } }, async () => {
      handled++;
      return { ok: true };
    });
    await app.ready();
    servers.set(kind, app);
  }
});

after(async () => {
  for (const app of servers.values()) await app.close();
});

function post(kind: ApiKind, payload: string | Buffer) {
  return servers.get(kind)!.inject({
    method: 'POST',
    url: '/things',
    headers: { 'content-type': 'application/json' },
    payload,
  });
}

/** The message of an error body in any of the four formats. */
function messageOf(kind: ApiKind, body: Record<string, unknown>): string {
  const inner =
    kind === 'compute'
      ? (Object.values(body)[0] as { message: string })
      : kind === 'identity'
        ? (body['error'] as { message: string })
        : kind === 'network'
          ? (body['NeutronError'] as { message: string })
          : (body as { message: string });
  return inner.message;
}

describe('request bodies every API refuses', () => {
  for (const kind of KINDS) {
    it(`${kind}: a body nested 100,000 deep is a 400, not a stack overflow`, async () => {
      const before = handled;
      for (const payload of [
        '['.repeat(100_000) + ']'.repeat(100_000),
        `{"thing":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`,
      ]) {
        const res = await post(kind, payload);
        assert.equal(res.statusCode, 400, res.body);
        assert.match(messageOf(kind, res.json()), new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels`));
      }
      assert.equal(handled, before);
    });

    it(`${kind}: nesting up to the limit, and brackets inside strings, are fine`, async () => {
      const deep = `{"thing":${'{"a":'.repeat(MAX_JSON_DEPTH - 2)}"[[[{{{"${'}'.repeat(MAX_JSON_DEPTH - 1)}`;
      const res = await post(kind, deep);
      assert.equal(res.statusCode, 200, res.body);
    });

    it(`${kind}: a body that is not valid UTF-8 is a 400, not replacement characters`, async () => {
      const before = handled;
      const payload = Buffer.concat([Buffer.from('{"thing":{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
      const res = await post(kind, payload);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(messageOf(kind, res.json()), /not valid UTF-8/);
      assert.equal(handled, before);
      const good = await post(kind, Buffer.from('{"thing":{"name":"café ☁"}}'));
      assert.equal(good.statusCode, 200);
    });
  }
});

/** Sends `head` on a raw connection and gives back all the server answered, or the socket's error. */
function rawExchange(port: number, head: string): Promise<{ answer: string; error: string | null }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let error: string | null = null;
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('error', (err) => (error = err.message));
    socket.on('close', () => resolve({ answer, error }));
    socket.end(head);
  });
}

describe('request headers every API refuses', () => {
  for (const kind of KINDS) {
    it(`${kind}: a 100 KB header is a 431 in the API's format, not a reset connection`, async () => {
      const app = servers.get(kind)!;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      const { answer, error } = await rawExchange(
        port,
        `DELETE /v3/auth/tokens HTTP/1.1\r\nHost: test\r\nX-Subject-Token: ${'a'.repeat(100_000)}\r\n\r\n`,
      );
      assert.equal(error, null);
      assert.match(answer, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      assert.match(messageOf(kind, body), /headers exceed the limit/);
    });
  }
});

/** transport_url parsing: oslo.messaging's forms, and errors that name the URL without its password. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/common/errors.ts';
import { AmqpTransport } from '../../../src/common/rpc/amqp-transport.ts';
import { InProcessTransport } from '../../../src/common/rpc/in-process-transport.ts';
import { createTransport, maskTransportUrl, parseTransportUrl } from '../../../src/common/rpc/transport-url.ts';

describe('transport_url', () => {
  it('empty and fake:// give the in-process transport', () => {
    assert.deepEqual(parseTransportUrl(''), { kind: 'fake', name: '' });
    assert.deepEqual(parseTransportUrl('fake://'), { kind: 'fake', name: '' });
    assert.ok(createTransport('') instanceof InProcessTransport);
    assert.ok(createTransport('fake://') instanceof InProcessTransport);
  });

  it('parses a single rabbit:// broker with the default vhost', () => {
    assert.deepEqual(parseTransportUrl('rabbit://guest:guest@127.0.0.1:5672/'), {
      kind: 'amqp',
      hosts: [{ host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' }],
      vhost: '/',
      masked: 'rabbit://guest:***@127.0.0.1:5672/',
    });
    assert.ok(createTransport('amqp://localhost') instanceof AmqpTransport);
  });

  it('parses several brokers, default port, escapes, IPv6 and a vhost', () => {
    const parsed = parseTransportUrl('rabbit://nova:p%40ss@rabbit1,rabbit2:5673,other:pw@[::1]:5674/nova%2Fprod');
    assert.equal(parsed.kind, 'amqp');
    assert.deepEqual(parsed.hosts, [
      { host: 'rabbit1', port: 5672, username: 'nova', password: 'p@ss' },
      { host: 'rabbit2', port: 5673, username: 'nova', password: 'p@ss' },
      { host: '::1', port: 5674, username: 'other', password: 'pw' },
    ]);
    assert.equal(parsed.vhost, 'nova/prod');
    assert.equal(parsed.masked, 'rabbit://nova:***@rabbit1,rabbit2:5673,other:***@[::1]:5674/nova%2Fprod');
  });

  it('masks every password', () => {
    assert.equal(maskTransportUrl('rabbit://a:x@h1:1,b:y@h2:2/v'), 'rabbit://a:***@h1:1,b:***@h2:2/v');
    assert.equal(maskTransportUrl('rabbit://h1/'), 'rabbit://h1/');
  });

  for (const bad of [
    'http://u:topsecret@host/',
    'rabbit://',
    'rabbit://u:topsecret@host:99999/',
    'rabbit://u:topsecret@host:5672,/',
    'rabbit://u:topsecret@host/?ssl=1',
    'u:topsecret@host',
  ]) {
    it(`rejects ${JSON.stringify(bad)} with a ConfigError naming the URL, masked, and the expected forms`, () => {
      assert.throws(
        () => createTransport(bad),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `got ${String(err)}`);
          assert.match(err.message, /Invalid transport_url/);
          assert.match(err.message, /rabbit:\/\/user:pass@host:port\/vhost/);
          assert.match(err.message, /fake:\/\//);
          assert.doesNotMatch(err.message, /topsecret/);
          return true;
        },
      );
    });
  }
});

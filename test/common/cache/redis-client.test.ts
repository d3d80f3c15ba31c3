import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  encodeCommand,
  parseRedisUrl,
  parseReply,
  RedisClient,
  RedisError,
} from '../../../src/common/cache/redis-client.ts';
import { freePort } from '../../helpers/free-port.ts';

const REDIS_URL = process.env['STRATUS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

test('redis URLs are read as redis-py reads them', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1'), {
    host: '127.0.0.1',
    port: 6379,
    db: 0,
    username: null,
    password: null,
  });
  assert.deepEqual(parseRedisUrl('redis://u:p%40ss@cache.example:6380/2'), {
    host: 'cache.example',
    port: 6380,
    db: 2,
    username: 'u',
    password: 'p@ss',
  });
  assert.equal(parseRedisUrl('redis://:secret@[::1]:7000').host, '::1');
  assert.throws(() => parseRedisUrl('memcache://x'), /expected a redis:\/\/ URL/);
  assert.throws(() => parseRedisUrl('redis://host/abc'), /database number/);
  assert.throws(() => parseRedisUrl('not a url'), /not a URL/);
});

test('commands are encoded as RESP arrays of bulk strings', () => {
  assert.equal(encodeCommand(['SET', 'k', 'é', 5]).toString(), '*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$1\r\n5\r\n');
});

test('replies are parsed whole or not at all', () => {
  const whole = Buffer.from('*3\r\n:1\r\n$3\r\nabc\r\n$-1\r\n+OK\r\n');
  assert.deepEqual(parseReply(whole, 0), { reply: [1, 'abc', null], end: whole.length - 5 });
  for (let cut = 0; cut < whole.length - 5; cut++)
    assert.equal(parseReply(whole.subarray(0, cut), 0), null, `cut ${cut}`);
  const error = parseReply(Buffer.from('-ERR wrong\r\n'), 0);
  assert.ok(error?.reply instanceof RedisError);
  assert.equal(error.reply.message, 'ERR wrong');
  assert.throws(() => parseReply(Buffer.from('?x\r\n'), 0), RedisError);
});

const client = new RedisClient(parseRedisUrl(REDIS_URL));
after(() => client.close());

test('talks to a real Redis', async () => {
  const key = `stratus:test:${randomBytes(6).toString('hex')}`;
  try {
    assert.equal(await client.command('SET', key, 'v', 'PX', 10_000), 'OK');
    // Pipelined: several commands in flight on the one connection, answered in order.
    const [got, incr, ttl] = await Promise.all([
      client.command('GET', key),
      client.command('INCR', `${key}:n`),
      client.command('PTTL', key),
    ]);
    assert.equal(got, 'v');
    assert.equal(incr, 1);
    assert.ok(typeof ttl === 'number' && ttl > 0 && ttl <= 10_000);
    await assert.rejects(
      client.command('INCR', key),
      (err: Error) => err instanceof RedisError && /integer/.test(err.message),
    );
    assert.equal(await client.command('GET', key), 'v', 'the connection stays usable after an error reply');
  } finally {
    await client.command('DEL', key, `${key}:n`);
  }
});

test('a Redis that is not there fails the command, not the process', async () => {
  const absent = new RedisClient({ host: '127.0.0.1', port: await freePort(), db: 0, username: null, password: null });
  await assert.rejects(absent.command('PING'));
  await assert.rejects(absent.command('PING'), 'and again, trying to connect anew');
  await absent.close();
});

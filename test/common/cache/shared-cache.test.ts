import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { sharedCacheTarget } from '../../../src/common/cache/shared-cache.ts';

/** The [cache] section as an operator writes it, read through the real configuration loader. */
function fromIni(lines: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-cache-'));
  try {
    writeFileSync(join(dir, 'stratus.conf'), ['[cache]', ...lines, ''].join('\n'));
    return loadConfig([join(dir, 'stratus.conf')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('no shared cache unless enabled with a backend', () => {
  assert.equal(sharedCacheTarget(loadConfig()), null);
  assert.equal(sharedCacheTarget(fromIni(['backend = dogpile.cache.redis', 'backend_argument = url:redis://h'])), null);
  assert.equal(sharedCacheTarget(fromIni(['enabled = true'])), null, 'dogpile.cache.null');
});

test('dogpile.cache.redis reads its url from backend_argument', () => {
  const config = fromIni([
    'enabled = true',
    'backend = dogpile.cache.redis',
    'backend_argument = distributed_lock:true',
    'backend_argument = url:redis://:pw@cache.example:6380/1',
  ]);
  assert.deepEqual(sharedCacheTarget(config), {
    host: 'cache.example',
    port: 6380,
    db: 1,
    username: null,
    password: 'pw',
  });
});

test('a configuration that cannot work says why', () => {
  assert.throws(
    () => sharedCacheTarget(fromIni(['enabled = true', 'backend = dogpile.cache.redis'])),
    /needs a backend_argument url:redis/,
  );
  assert.throws(
    () =>
      sharedCacheTarget(
        fromIni(['enabled = true', 'backend = dogpile.cache.redis', 'backend_argument = url:http://x']),
      ),
    /backend_argument url: expected a redis:\/\/ URL/,
  );
  assert.throws(
    () => sharedCacheTarget(fromIni(['enabled = true', 'backend = dogpile.cache.redis', 'backend_argument = nocolon'])),
    /is not name:value/,
  );
  assert.throws(() => fromIni(['backend = dogpile.cache.memcached']), /expected one of/);
});

/** The compute host's per-guest record of interfaces: one file per guest, replaced whole, read back checked. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { VifCache } from '../../../src/compute/network/vif-cache.ts';
import { testVif } from '../../helpers/vif.ts';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stratus-vifcache-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('compute: VIF cache', () => {
  it('writes, reads back, lists and removes a guest’s interfaces', async () => {
    const cache = new VifCache(join(directory, 'host'));
    assert.deepEqual(await cache.guests(), [], 'no directory yet: no guests');
    const vifs = [testVif(), testVif()];
    await cache.write('guest-1', vifs);
    assert.deepEqual(await cache.read('guest-1'), vifs);
    assert.equal(await cache.read('guest-2'), null);
    assert.deepEqual(await cache.guests(), ['guest-1']);
    assert.deepEqual(await readdir(join(directory, 'host')), ['guest-1.json'], 'no temporary file left');
    await cache.write('guest-1', []);
    assert.equal(await cache.read('guest-1'), null, 'an empty list removes the record');
    await cache.remove('guest-1');
  });

  it('answers what it last wrote, even when a read of the older file overlapped the write', async () => {
    const older = [testVif()];
    const newer = [testVif(), testVif()];
    await new VifCache(directory).write('g', older);
    const cache = new VifCache(directory);
    const [read] = await Promise.all([cache.read('g'), cache.write('g', newer)]);
    assert.ok(read !== null, 'the overlapping read saw one of the two');
    assert.deepEqual(await cache.read('g'), newer);
    await Promise.all([cache.read('g'), cache.remove('g')]);
    assert.equal(await cache.read('g'), null, 'removed, whatever was read meanwhile');
  });

  it('makes its directory again when it was removed after the first write', async () => {
    const cache = new VifCache(join(directory, 'host'));
    await cache.write('guest-1', [testVif()]);
    await rm(join(directory, 'host'), { recursive: true, force: true });
    const vifs = [testVif()];
    await cache.write('guest-2', vifs);
    assert.deepEqual(await readdir(join(directory, 'host')), ['guest-2.json']);
    assert.deepEqual(await new VifCache(join(directory, 'host')).read('guest-2'), vifs);
  });

  it('reads a file that is not a NetworkInfo as absent', async () => {
    const cache = new VifCache(directory);
    await writeFile(join(directory, 'g.json'), '{not json');
    assert.equal(await cache.read('g'), null);
    await writeFile(join(directory, 'g.json'), JSON.stringify([{ ...testVif(), mac_address: 'nope' }]));
    assert.equal(await cache.read('g'), null);
  });

  it('refuses names that could leave its directory, and lists only its own files', async () => {
    const cache = new VifCache(directory);
    await assert.rejects(cache.write('../escape', [testVif()]), /not an instance id/);
    await assert.rejects(cache.read('a/b'), /not an instance id/);
    await writeFile(join(directory, 'notes.txt'), 'x');
    await writeFile(join(directory, '.hidden.json'), '[]');
    assert.deepEqual(await cache.guests(), []);
  });
});

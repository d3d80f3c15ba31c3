/**
 * cacheImages (compute's side of an aggregate's image pre-caching): each image's outcome in Nova's words,
 * from the fake driver (which records what it was asked), a driver without an image cache, and a driver
 * whose fetch fails for one image (the others still cached).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheImages } from '../../src/compute/image-cache-warmup.ts';
import type { VirtDriver } from '../../src/compute/virt/driver.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';

describe('cacheImages', () => {
  it('reports cached the first time and existing after, as the fake driver records', async () => {
    const driver = new FakeDriver(fakeDriverOptions());
    assert.deepEqual(await cacheImages(driver, 'h1', ['a', 'b']), { a: 'cached', b: 'cached' });
    assert.deepEqual(await cacheImages(driver, 'h1', ['b', 'c']), { b: 'existing', c: 'cached' });
    assert.deepEqual(driver.cachedImages, ['a', 'b', 'c']);
  });

  it('answers unsupported for a driver without an image cache', async () => {
    const driver = new FakeDriver(fakeDriverOptions()) as VirtDriver;
    const bare = Object.assign(Object.create(driver) as VirtDriver, { cacheImage: undefined });
    assert.deepEqual(await cacheImages(bare, 'h1', ['a']), { a: 'unsupported' });
  });

  it('goes on past an image that fails, reporting it as an error', async () => {
    const driver = new FakeDriver(fakeDriverOptions());
    const failing = Object.assign(Object.create(driver) as FakeDriver, {
      cacheImage: async (id: string) => {
        if (id === 'broken') throw new Error('download failed');
        return driver.cacheImage(id);
      },
    });
    assert.deepEqual(await cacheImages(failing, 'h1', ['broken', 'fine']), { broken: 'error', fine: 'cached' });
    assert.deepEqual(driver.cachedImages, ['fine']);
  });
});

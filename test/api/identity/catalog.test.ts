import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { configuredCatalog, type CatalogService } from '../../../src/api/identity/catalog.ts';
import { CatalogCache } from '../../../src/api/identity/catalog-cache.ts';
import { seedCatalog } from '../../../src/api/identity/catalog-seed.ts';
import { serviceUrl } from '../../../src/common/config/service-urls.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';

const config = loadConfig([], {
  api: { public_host: 'cloud.example' },
  identity: { listen_port: '5001', region_name: 'North' },
  DEFAULT: { osapi_compute_listen_port: '8775' },
  image: { listen_port: '9293' },
  network: { listen_port: '9697' },
});

let database: TestDatabase;
before(async () => void (database = await openTestDatabase()));
after(() => database.close());

test('configuration describes keystone, nova, glance and neutron with three interfaces in the region', () => {
  const catalog = configuredCatalog(config);
  assert.deepEqual(
    catalog.map((s) => [s.type, s.name]),
    [
      ['identity', 'keystone'],
      ['compute', 'nova'],
      ['image', 'glance'],
      ['network', 'neutron'],
    ],
  );
  for (const service of catalog) {
    assert.deepEqual(
      service.endpoints.map((e) => e.interface),
      ['public', 'internal', 'admin'],
    );
    for (const e of service.endpoints) {
      assert.equal(e.region, 'North');
      assert.equal(e.region_id, 'North');
      assert.equal(e.url, serviceUrl(config, service.type as 'identity' | 'compute' | 'image' | 'network'));
      assert.match(e.id, /^[0-9a-f]{32}$/);
    }
  }
  // The ids are the ones tokens carried before the catalog was stored: hashes, the same in every process.
  assert.deepEqual(configuredCatalog(config), configuredCatalog(config));
  const ids = catalog.flatMap((s) => [s.id, ...s.endpoints.map((e) => e.id)]);
  assert.equal(new Set(ids).size, ids.length);
});

/** Services by type, each one's endpoints by id: the database's order is not the configuration's. */
const normalized = (list: readonly CatalogService[]) =>
  [...list]
    .sort((a, b) => a.type.localeCompare(b.type))
    .map((s) => ({ ...s, endpoints: [...s.endpoints].sort((a, b) => a.id.localeCompare(b.id)) }));

test('seeding writes the configured catalog once; a second run and a concurrent one change nothing', async () => {
  const db = database.db;
  const results = await Promise.all([seedCatalog(db, config), seedCatalog(db, config)]);
  assert.deepEqual(
    results.filter((r) => r),
    [true],
  );
  const cache = new CatalogCache(db, 0);
  assert.deepEqual(normalized(await cache.get()), normalized(configuredCatalog(config)));
  const regions = await db.selectFrom('catalog_regions').selectAll().execute();
  assert.deepEqual(
    regions.map((r) => [r.id, r.description, r.parent_region_id]),
    [['North', '', null]],
  );

  // An operator's edits survive the next bootstrap, even one under another configuration.
  await db.deleteFrom('catalog_endpoints').where('interface', '=', 'admin').execute();
  await db
    .updateTable('catalog_endpoints')
    .set({ url: 'https://nova.example/v2.1' })
    .where('url', 'like', '%8775%')
    .execute();
  const edited = await cache.get();
  const moved = loadConfig([], { identity: { region_name: 'South' } });
  assert.equal(await seedCatalog(db, moved), false);
  assert.deepEqual(await cache.get(), edited);
  assert.equal(edited.flatMap((s) => s.endpoints).length, 8);
  const compute = edited.find((s) => s.type === 'compute')!;
  assert.deepEqual(new Set(compute.endpoints.map((e) => e.url)), new Set(['https://nova.example/v2.1']));
});

test('the cache serves its copy until it expires or is invalidated; disabled entries are left out', async () => {
  const db = database.db;
  const clock = { now: 1_000_000 };
  const cache = new CatalogCache(db, 5000, () => clock.now);
  const first = await cache.get();
  const image = first.find((s) => s.type === 'image')!;
  await db.updateTable('catalog_services').set({ enabled: 0 }).where('id', '=', image.id).execute();
  assert.equal(await cache.get(), first, 'the same copy within the expiry');
  clock.now += 5000;
  const expired = await cache.get();
  assert.deepEqual(expired.map((s) => s.type).sort(), ['compute', 'identity', 'network']);
  await db.updateTable('catalog_services').set({ enabled: 1 }).where('id', '=', image.id).execute();
  const publicImage = image.endpoints.find((e) => e.interface === 'public')!;
  await db.updateTable('catalog_endpoints').set({ enabled: 0 }).where('id', '=', publicImage.id).execute();
  cache.invalidate();
  const fresh = await cache.get();
  // The admin ones went in the previous test: internal is what is left.
  assert.deepEqual(
    fresh.find((s) => s.type === 'image')!.endpoints.map((e) => e.interface),
    ['internal'],
  );
});

test('a read that began before an invalidation does not replace what came after it', async () => {
  const db = database.db;
  const cache = new CatalogCache(db, 60_000);
  const stale = cache.get();
  cache.invalidate();
  await db.updateTable('catalog_services').set({ name: 'renamed' }).where('type', '=', 'compute').execute();
  await stale;
  const now = await cache.get();
  assert.equal(now.find((s) => s.type === 'compute')!.name, 'renamed');
});

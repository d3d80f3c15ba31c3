import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { serviceCatalog } from '../../../src/api/identity/catalog.ts';
import { serviceUrl } from '../../../src/common/config/service-urls.ts';

const config = loadConfig([], {
  api: { public_host: 'cloud.example' },
  identity: { listen_port: '5001', region_name: 'North' },
  DEFAULT: { osapi_compute_listen_port: '8775' },
  image: { listen_port: '9293' },
});

test('the catalog lists keystone, nova and glance with three interfaces in the region', () => {
  const catalog = serviceCatalog(config);
  assert.deepEqual(
    catalog.map((s) => [s.type, s.name]),
    [
      ['identity', 'keystone'],
      ['compute', 'nova'],
      ['image', 'glance'],
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
      assert.equal(e.url, serviceUrl(config, service.type));
      assert.match(e.id, /^[0-9a-f]{32}$/);
    }
  }
});

test('ids are stable across calls (and so across processes)', () => {
  assert.deepEqual(serviceCatalog(config), serviceCatalog(config));
  const ids = serviceCatalog(config).flatMap((s) => [s.id, ...s.endpoints.map((e) => e.id)]);
  assert.equal(new Set(ids).size, ids.length);
});

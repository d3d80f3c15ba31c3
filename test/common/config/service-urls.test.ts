/** The base URLs of the APIs, derived from configuration. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { novncproxyBaseUrl, serviceUrl } from '../../../src/common/config/service-urls.ts';

const config = loadConfig([], {
  api: { public_host: 'cloud.example' },
  identity: { listen_port: '5001' },
  DEFAULT: { osapi_compute_listen_port: '8775' },
  image: { listen_port: '9293' },
  network: { listen_port: '9697' },
});

test('service URLs come from [api] public_host and each API port', () => {
  assert.equal(serviceUrl(config, 'identity'), 'http://cloud.example:5001/v3');
  assert.equal(serviceUrl(config, 'compute'), 'http://cloud.example:8775/v2.1');
  assert.equal(serviceUrl(config, 'image'), 'http://cloud.example:9293');
  assert.equal(serviceUrl(config, 'network'), 'http://cloud.example:9697');
});

test('an IPv6 public_host is bracketed', () => {
  const v6 = loadConfig([], { api: { public_host: '::1' } });
  assert.equal(serviceUrl(v6, 'image'), 'http://[::1]:9292');
});

test('the noVNC page: [vnc] novncproxy_base_url, else the proxy on public_host, an IPv6 one bracketed', () => {
  const v6 = loadConfig([], { api: { public_host: '::1' }, vnc: { novncproxy_port: '6080' } });
  assert.equal(novncproxyBaseUrl(v6), 'http://[::1]:6080/vnc_lite.html');
  assert.doesNotThrow(() => new URL(novncproxyBaseUrl(v6)));
  const set = loadConfig([], { vnc: { novncproxy_base_url: 'https://console.example/vnc_auto.html' } });
  assert.equal(novncproxyBaseUrl(set), 'https://console.example/vnc_auto.html');
});

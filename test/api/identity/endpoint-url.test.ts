import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEndpointUrl, formatEndpointUrl, isTemplated } from '../../../src/api/identity/endpoint-url.ts';

const values = { project_id: 'p1', tenant_id: 'p1', user_id: 'u1' };

test('substitutions are filled in from the token; %% is a percent sign', () => {
  assert.equal(formatEndpointUrl('http://v:8776/v3/$(project_id)s', values), 'http://v:8776/v3/p1');
  assert.equal(formatEndpointUrl('http://v/%(tenant_id)s/$(user_id)s', values), 'http://v/p1/u1');
  assert.equal(formatEndpointUrl('http://v/a%%20b', values), 'http://v/a%20b');
  assert.equal(isTemplated('http://v/plain'), false);
  assert.equal(isTemplated('http://v/$(project_id)s'), true);
});

test('a value the token lacks, or one Stratus has none for, leaves the endpoint out', () => {
  assert.equal(formatEndpointUrl('http://v/$(project_id)s', { ...values, project_id: null }), null);
  assert.equal(formatEndpointUrl('http://v/$(compute_host)s', values), null);
});

test('creation refuses what Keystone cannot format: unknown names, stray percent signs', () => {
  for (const url of ['http://v/$(bogus)s', 'http://v/a%20b', 'http://v/$(project_id)d', 'http://v/$(project_id']) {
    assert.throws(() => checkEndpointUrl(url), /Cannot create an endpoint with an invalid URL/, url);
  }
  for (const url of ['http://v/', 'http://v/$(project_id)s', 'http://v/$(compute_host)s', 'http://v/%%']) {
    assert.doesNotThrow(() => checkEndpointUrl(url), url);
  }
});

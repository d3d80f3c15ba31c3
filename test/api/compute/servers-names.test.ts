import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceName, sanitizeHostname } from '../../../src/api/compute/servers/names.ts';

const UUID = '1b7e3c2a-7a4f-4c55-9a7e-0c1f2d3e4f50';

describe('instanceName', () => {
  it('applies the positional form to the integer id, as Nova’s default instance-%08x', () => {
    assert.equal(instanceName('instance-%08x', 255, UUID), 'instance-000000ff');
    assert.equal(instanceName('vm-%d', 42, UUID), 'vm-42');
    assert.equal(instanceName('VM%X', 3054, UUID), 'VMBEE');
    assert.equal(instanceName('vm-%5d', 7, UUID), 'vm-    7');
  });

  it('applies named fields and keeps literal text and %%', () => {
    assert.equal(instanceName('%(uuid)s', 1, UUID), UUID);
    assert.equal(instanceName('guest-%(id)04d-%(uuid)s', 9, UUID), `guest-0009-${UUID}`);
    assert.equal(instanceName('100%%-%(id)x', 16, UUID), '100%-10');
    assert.equal(instanceName('plain', 1, UUID), 'plain');
  });

  it('leaves an unknown named field as written', () => {
    assert.equal(instanceName('x-%(host)s-%(id)d', 3, UUID), 'x-%(host)s-3');
  });

  it('gives the same answer for a template applied many times (compiled once)', () => {
    const names = [1, 2, 3].map((id) => instanceName('instance-%08x', id, UUID));
    assert.deepEqual(names, ['instance-00000001', 'instance-00000002', 'instance-00000003']);
  });
});

describe('sanitizeHostname', () => {
  it('makes a DNS-safe lower-case name', () => {
    assert.equal(sanitizeHostname('My_Server.one'), 'my-server-one');
    assert.equal(sanitizeHostname('--web--'), 'web');
  });
});

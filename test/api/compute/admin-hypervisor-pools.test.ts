/**
 * The `storage-tier` extension on os-hypervisors detail: each storage pool of a node with its tier, its
 * capacity as placement counts it and what is claimed in it; absent without the extension header.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { claimResources } from '../../../src/placement/claims.ts';
import { addComputeHost, client, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let host: Awaited<ReturnType<typeof addComputeHost>>;

before(async () => {
  h = await startComputeApi();
  host = await addComputeHost(h, 'host1', { pools: { hdd: 500, ssd: 100 } });
  await claimResources(h.database.db, randomUUID(), host.node.uuid, { VCPU: 1, MEMORY_MB: 128, DISK_GB: 20 }, 'ssd');
});
after(async () => {
  await h.close();
});

const tiered = () => client(h.app, 'admin', undefined, { 'stratus-extensions': 'storage-tier' });

describe('hypervisor storage pools', () => {
  it('lists each pool with its capacity and usage when the extension is asked for', async () => {
    const res = await tiered().get(`/v2.1/os-hypervisors/${host.node.id}`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().hypervisor['STRATUS-EXT-STORAGE:pools'], [
      { tier: 'hdd', capacity_gb: 500, used_gb: 0 },
      { tier: 'ssd', capacity_gb: 100, used_gb: 20 },
    ]);
    assert.equal(res.json().hypervisor.local_gb_used, 20);
    const list = await tiered().get('/v2.1/os-hypervisors/detail');
    assert.equal(list.json().hypervisors[0]['STRATUS-EXT-STORAGE:pools'].length, 2);
  });

  it('keeps Nova’s body without the extension and in the summary list', async () => {
    const plain = await client(h.app, 'admin').get(`/v2.1/os-hypervisors/${host.node.id}`);
    assert.equal('STRATUS-EXT-STORAGE:pools' in plain.json().hypervisor, false);
    const summary = await tiered().get('/v2.1/os-hypervisors');
    assert.equal('STRATUS-EXT-STORAGE:pools' in summary.json().hypervisors[0], false);
  });
});

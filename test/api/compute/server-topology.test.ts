/**
 * GET /servers/{id}/topology (2.78): Nova's answer for a guest without a NUMA topology (every Stratus
 * guest, dedicated CPUs included), to the owner and to admins; 404 before 2.78, for another project's
 * server and for an unknown one. Bodies are checked against the strict schema by the harness.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createFlavor, setExtraSpecs } from '../../../src/objects/flavors.ts';
import { client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
});
after(() => h.close());

const topology = (uuid: string) => `/v2.1/servers/${uuid}/topology`;

describe('GET /servers/{id}/topology', () => {
  it('answers no nodes and no page size to the owner and to admins', async () => {
    const instance = await seedServer(h);
    for (const who of ['alice', 'admin'] as const) {
      const res = await client(h.app, who, '2.78').get(topology(instance.uuid));
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { nodes: [], pagesize_kb: null });
    }
  });

  it('answers the same for a guest with dedicated CPUs, which Stratus gives no NUMA topology', async () => {
    await createFlavor(h.database.db, { flavorid: 'pinned', name: 'pinned', memory_mb: 512, vcpus: 2, root_gb: 1 });
    const flavor = await setExtraSpecs(h.database.db, 'pinned', { 'hw:cpu_policy': 'dedicated' });
    const instance = await seedServer(h, { flavor });
    const res = await client(h.app, 'admin', '2.96').get(topology(instance.uuid));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { nodes: [], pagesize_kb: null });
  });

  it('is not found before 2.78', async () => {
    const instance = await seedServer(h);
    const res = await client(h.app, 'alice', '2.77').get(topology(instance.uuid));
    assert.equal(res.statusCode, 404);
  });

  it("is not found for another project's server or an unknown one", async () => {
    const instance = await seedServer(h);
    const other = await client(h.app, 'bob', '2.78').get(topology(instance.uuid));
    assert.equal(other.statusCode, 404);
    const unknown = await client(h.app, 'alice', '2.78').get(topology('9d0f7c1e-0000-4000-8000-000000000000'));
    assert.equal(unknown.statusCode, 404);
    assert.match(fault(unknown).message, /could not be found/);
  });
});

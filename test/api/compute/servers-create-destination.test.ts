/**
 * POST /servers with 2.74's `host` and `hypervisor_hostname`: admins name a compute host and/or node,
 * which the request spec carries to the scheduler as its requested destination; members get 403, an
 * unknown host or node 400 in Nova's words, and before 2.74 the keys are not part of the schema. Every
 * refusal records nothing and casts nothing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { getRequestSpec } from '../../../src/objects/request-specs.ts';
import { addComputeHost, client, countRows, fault, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'dest1');
  await addComputeHost(h, 'dest2');
});
after(() => h.close());
beforeEach(() => {
  h.transport.casts.length = 0;
});

const body = (server: Record<string, unknown>) => ({
  server: { name: 'placed', imageRef: h.cirros.id, flavorRef: '1', networks: 'none', ...server },
});

describe('POST /servers with a requested destination (2.74)', () => {
  it('carries host and node to the scheduler in the request spec', async () => {
    const cases: [Record<string, string>, { host: string | null; node: string | null }][] = [
      [{ host: 'dest1' }, { host: 'dest1', node: null }],
      [{ hypervisor_hostname: 'dest2-node' }, { host: null, node: 'dest2-node' }],
      [
        { host: 'dest2', hypervisor_hostname: 'dest2-node' },
        { host: 'dest2', node: 'dest2-node' },
      ],
    ];
    for (const [asked, destination] of cases) {
      const res = await client(h.app, 'admin', '2.74').post('/v2.1/servers', body(asked));
      assert.equal(res.statusCode, 202, res.body);
      const spec = await getRequestSpec(h.database.db, res.json().server.id);
      assert.deepEqual(spec.requested_destination, destination);
      const cast = h.transport.casts.at(-1)!;
      assert.equal(cast.method, 'build_instances');
      assert.deepEqual((cast.args['request_spec'] as typeof spec).requested_destination, destination);
    }
  });

  it('leaves the spec without a destination when none is named', async () => {
    const res = await client(h.app, 'admin', '2.74').post('/v2.1/servers', body({}));
    assert.equal(res.statusCode, 202, res.body);
    const spec = await getRequestSpec(h.database.db, res.json().server.id);
    assert.equal(spec.requested_destination, undefined);
  });

  it('refuses unknown hosts and nodes, members, and the keys before 2.74, recording nothing', async () => {
    const before = await countRows(h, 'instances');
    const admin = client(h.app, 'admin', '2.74');
    const refusals: [Record<string, string>, number, string | RegExp][] = [
      [{ host: 'nosuch' }, 400, 'Compute host nosuch could not be found.'],
      [{ hypervisor_hostname: 'nosuch-node' }, 400, 'Compute host nosuch-node could not be found.'],
      [{ host: 'dest1', hypervisor_hostname: 'dest2-node' }, 400, 'Compute host dest2-node could not be found.'],
      [{ host: 'bad host!' }, 400, /Invalid input/],
    ];
    for (const [asked, status, message] of refusals) {
      const res = await admin.post('/v2.1/servers', body(asked));
      assert.equal(res.statusCode, status, `${JSON.stringify(asked)}: ${res.body}`);
      if (typeof message === 'string') assert.equal(fault(res).message, message);
      else assert.match(fault(res).message, message);
    }
    const member = await client(h.app, 'alice', '2.74').post('/v2.1/servers', body({ host: 'dest1' }));
    assert.equal(member.statusCode, 403);
    assert.match(fault(member).message, /compute:servers:create:requested_destination/);
    const early = await client(h.app, 'admin', '2.73').post('/v2.1/servers', body({ host: 'dest1' }));
    assert.equal(early.statusCode, 400);
    assert.match(fault(early).message, /Additional properties are not allowed \('host' was unexpected\)/);
    assert.equal(await countRows(h, 'instances'), before);
    assert.equal(h.transport.casts.length, 0);
  });
});

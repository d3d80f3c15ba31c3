/**
 * Every GET route of the compute API, read as an admin and as a member at the microversions where
 * Nova's bodies change, over a small cloud with one of everything: each answer goes through the strict
 * response check (response-check.ts), so a key that a version or a role should not see fails here
 * even where no other test looks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addServerGroupMembers } from '../../../src/objects/server-groups.ts';
import { addComputeHost, client, seedServer, startComputeApi, type Harness } from './helpers.ts';
import { atLeast } from './response-schemas/common.ts';

const VERSIONS = ['2.1', '2.3', '2.9', '2.16', '2.19', '2.26', '2.28', '2.33', '2.41', '2.47', '2.53', '2.55'];
VERSIONS.push('2.58', '2.61', '2.62', '2.63', '2.64', '2.71', '2.73', '2.75', '2.84', '2.88', '2.90', '2.96');

let h: Harness;
let urls: { url: string; min?: string; max?: string; adminOnly?: boolean }[];

before(async () => {
  h = await startComputeApi();
  const { node } = await addComputeHost(h, 'host1');
  const admin = client(h.app, 'admin', '2.64');
  const aggregate = await admin.post('/v2.1/os-aggregates', {
    aggregate: { name: 'agg', availability_zone: 'zone-a' },
  });
  assert.equal(aggregate.statusCode, 200, aggregate.body);
  const aggId = aggregate.json().aggregate.id as number;
  assert.equal(
    (await admin.post(`/v2.1/os-aggregates/${aggId}/action`, { add_host: { host: 'host1' } })).statusCode,
    200,
  );
  const server = await seedServer(h, { name: 'swept' });
  const failed = await seedServer(h, { name: 'failed', state: { vm_state: 'error' } });
  await h.database.db
    .insertInto('instance_faults')
    .values({
      instance_uuid: failed.uuid,
      code: 500,
      message: 'boom',
      details: 'trace',
      host: 'host1',
      created_at: new Date().toISOString(),
    })
    .execute();
  const group = await admin.post('/v2.1/os-server-groups', { server_group: { name: 'g', policy: 'anti-affinity' } });
  assert.equal(group.statusCode, 200, group.body);
  await addServerGroupMembers(
    h.database.db,
    (await h.database.db.selectFrom('instance_groups').select('id').executeTakeFirstOrThrow()).id,
    [server.uuid],
  );
  await admin.post('/v2.1/flavors/1/os-extra_specs', { extra_specs: { 'hw:cpu_policy': 'shared' } });
  await client(h.app, 'alice').put(`/v2.1/servers/${server.uuid}/metadata`, { metadata: { role: 'web' } });
  const actions = await client(h.app, 'admin').get(`/v2.1/servers/${server.uuid}/os-instance-actions`);
  const requestId = actions.json().instanceActions[0]?.request_id as string | undefined;
  urls = [
    { url: '/v2.1/servers' },
    { url: '/v2.1/servers/detail' },
    { url: '/v2.1/servers/detail?all_tenants', adminOnly: true },
    { url: `/v2.1/servers/${server.uuid}` },
    { url: `/v2.1/servers/${failed.uuid}` },
    { url: `/v2.1/servers/${server.uuid}/metadata` },
    { url: `/v2.1/servers/${server.uuid}/metadata/role` },
    { url: `/v2.1/servers/${server.uuid}/os-instance-actions` },
    ...(requestId ? [{ url: `/v2.1/servers/${server.uuid}/os-instance-actions/${requestId}` }] : []),
    { url: `/v2.1/servers/${server.uuid}/stratus-disk-snapshots` },
    { url: `/v2.1/servers/${server.uuid}/topology`, min: '2.78' },
    { url: '/v2.1/flavors' },
    { url: '/v2.1/flavors/detail' },
    { url: '/v2.1/flavors/1' },
    { url: '/v2.1/flavors/1/os-extra_specs' },
    { url: '/v2.1/flavors/1/os-extra_specs/hw:cpu_policy' },
    { url: '/v2.1/os-server-groups' },
    { url: '/v2.1/os-availability-zone' },
    { url: '/v2.1/os-availability-zone/detail', adminOnly: true },
    { url: '/v2.1/os-services', adminOnly: true },
    { url: '/v2.1/os-aggregates', adminOnly: true },
    { url: `/v2.1/os-aggregates/${aggId}`, adminOnly: true },
    { url: '/v2.1/os-hypervisors', adminOnly: true },
    { url: '/v2.1/os-hypervisors/detail', adminOnly: true },
    { url: '/v2.1/os-hypervisors?with_servers=true', adminOnly: true, min: '2.53' },
    { url: '/v2.1/os-hypervisors/statistics', adminOnly: true, max: '2.87' },
    { url: `/v2.1/os-hypervisors/${node.id}`, adminOnly: true, max: '2.52' },
    { url: `/v2.1/os-hypervisors/${node.uuid}`, adminOnly: true, min: '2.53' },
    { url: '/v2.1/os-hypervisors/host1/search', adminOnly: true, max: '2.52' },
    { url: '/v2.1/os-hypervisors/host1/servers', adminOnly: true, max: '2.52' },
  ];
});
after(() => h.close());

describe('every GET route at every version that changes a body', () => {
  for (const who of ['admin', 'alice'] as const) {
    it(`answers ${who} with bodies Nova would send`, async () => {
      for (const version of VERSIONS) {
        for (const { url, min, max, adminOnly } of urls) {
          if ((min && !atLeast(version, min)) || (max && !atLeast(max, version))) continue;
          if (adminOnly && who !== 'admin') continue;
          // The check runs inside inject; a failing body throws with its route, version and key.
          const res = await client(h.app, who, version).get(url);
          assert.equal(res.statusCode, 200, `${who} GET ${url} at ${version}: ${res.body}`);
        }
      }
    });
  }
});

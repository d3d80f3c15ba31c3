/**
 * GET /limits: the absolute limits under Nova's names for each microversion (strict schemas), what the
 * project uses, `rate` always empty, and `tenant_id` for admins only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { client, fault, PROJECT_B, seedServer, type Harness } from './helpers.ts';
import { startWithProjects } from './quota-helpers.ts';
import { formatVersion, MAX_VERSION } from '../../../src/api/compute/microversion.ts';

/** The newest microversion Stratus serves. */
const LATEST = formatVersion(MAX_VERSION);

describe('GET /limits', () => {
  let h: Harness;
  before(async () => {
    h = await startWithProjects();
  });
  after(() => h.close());

  it('shows the limits and the usage under the names of each microversion', async () => {
    await seedServer(h, { user: 'alice' });
    await seedServer(h, { user: 'alice' });
    for (const version of ['2.1', '2.35', '2.36', '2.38', '2.39', '2.56', '2.57', LATEST]) {
      const res = await client(h.app, 'alice', version).get('/v2.1/limits');
      assert.equal(res.statusCode, 200, res.body);
      const { absolute, rate } = res.json().limits;
      assert.deepEqual(rate, []);
      assert.deepEqual(
        [absolute.maxTotalInstances, absolute.maxTotalCores, absolute.maxTotalRAMSize, absolute.maxServerMeta],
        [10, 20, 51200, 128],
      );
      assert.deepEqual(
        [absolute.maxTotalKeypairs, absolute.maxServerGroups, absolute.maxServerGroupMembers],
        [100, 10, 10],
      );
      assert.deepEqual([absolute.totalInstancesUsed, absolute.totalCoresUsed, absolute.totalRAMUsed], [2, 2, 1024]);
      assert.equal(absolute.totalServerGroupsUsed, 0);
      if (version === '2.1') {
        assert.deepEqual(
          [absolute.maxPersonality, absolute.maxPersonalitySize, absolute.maxImageMeta],
          [5, 10240, 128],
        );
        assert.deepEqual([absolute.maxTotalFloatingIps, absolute.totalFloatingIpsUsed], [-1, 0]);
      }
    }
  });

  it("shows another project's limits to admins with tenant_id", async () => {
    await client(h.app, 'admin').put(`/v2.1/os-quota-sets/${PROJECT_B}`, { quota_set: { instances: 3 } });
    const res = await client(h.app, 'admin').get(`/v2.1/limits?tenant_id=${PROJECT_B}`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().limits.absolute.maxTotalInstances, 3);
    assert.equal(res.json().limits.absolute.totalInstancesUsed, 0);
    // A member may not use tenant_id at all, not even with their own project (Nova's rule).
    const member = await client(h.app, 'bob').get(`/v2.1/limits?tenant_id=${PROJECT_B}`);
    assert.equal(member.statusCode, 403);
    assert.equal(fault(member).message, "Policy doesn't allow os_compute_api:limits:other_project to be performed.");
  });

  it('ignores unknown query parameters before 2.75 and refuses them from it', async () => {
    assert.equal((await client(h.app, 'alice', '2.74').get('/v2.1/limits?reserved=1')).statusCode, 200);
    assert.equal((await client(h.app, 'alice', '2.75').get('/v2.1/limits?reserved=1')).statusCode, 400);
  });
});

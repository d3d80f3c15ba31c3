/** /v2.0/quotas: defaults, an admin's limits, details with usage, members limited to their own project. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROJECT_A, PROJECT_B, startNetworkApi, type NetworkApiHarness } from './helpers.ts';

const DEFAULTS = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
};

describe('network API: quotas', () => {
  let h: NetworkApiHarness;
  before(async () => {
    h = await startNetworkApi();
  });
  after(() => h.close());

  it("Neutron's defaults until an admin sets limits; details count usage", async () => {
    assert.deepEqual((await h.call('alice', 'GET', `/v2.0/quotas/${PROJECT_A}`)).body, { quota: DEFAULTS });
    const set = await h.call('admin', 'PUT', `/v2.0/quotas/${PROJECT_A}`, { quota: { network: 1, port: -1 } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { quota: { ...DEFAULTS, network: 1, port: -1 } });
    assert.equal((await h.call('alice', 'POST', '/v2.0/networks', { network: {} })).status, 201);
    assert.equal((await h.call('alice', 'POST', '/v2.0/networks', { network: {} })).status, 409);
    const details = (await h.call('alice', 'GET', `/v2.0/quotas/${PROJECT_A}/details`)).body['quota'] as Record<
      string,
      unknown
    >;
    assert.deepEqual(details['network'], { limit: 1, used: 1, reserved: 0 });
    assert.deepEqual((await h.call('admin', 'GET', '/v2.0/quotas')).body, {
      quotas: [{ ...DEFAULTS, network: 1, port: -1, project_id: PROJECT_A, tenant_id: PROJECT_A }],
    });
    assert.deepEqual((await h.call('alice', 'GET', `/v2.0/quotas/${PROJECT_A}/default`)).body, { quota: DEFAULTS });
    assert.equal((await h.call('admin', 'DELETE', `/v2.0/quotas/${PROJECT_A}`)).status, 204);
    assert.deepEqual((await h.call('alice', 'GET', `/v2.0/quotas/${PROJECT_A}`)).body, { quota: DEFAULTS });
  });

  it('members cannot set quotas or read another project; bad limits are refused', async () => {
    assert.equal((await h.call('alice', 'PUT', `/v2.0/quotas/${PROJECT_A}`, { quota: { network: 5 } })).status, 403);
    assert.equal((await h.call('alice', 'GET', `/v2.0/quotas/${PROJECT_B}`)).status, 403);
    assert.equal((await h.call('alice', 'GET', '/v2.0/quotas')).status, 403);
    const low = await h.call('admin', 'PUT', `/v2.0/quotas/${PROJECT_B}`, { quota: { network: -2 } });
    assert.equal(low.status, 400);
    assert.equal(
      (low.body['NeutronError'] as { message: string }).message,
      "Invalid input for network. Reason: '-2' is too small - must be at least '-1'.",
    );
    const unknown = await h.call('admin', 'PUT', `/v2.0/quotas/${PROJECT_B}`, { quota: { volumes: 1 } });
    assert.equal(unknown.status, 400);
  });
});

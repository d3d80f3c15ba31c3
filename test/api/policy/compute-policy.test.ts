/**
 * A policy file changes who may do what through the compute API, without code: an `operator` role
 * lists hypervisors and disables a service, and members may no longer create servers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TokenValidator, ValidatedToken } from '../../../src/api/auth/token-validator.ts';
import { Policy } from '../../../src/api/policy/index.ts';
import { fakeTokens } from '../../helpers/fake-tokens.ts';
import { addComputeHost, client, fault, startComputeApi, type Harness } from '../compute/helpers.ts';

const OPERATOR_TOKEN = 'operator-token';

/** The fake tokens plus one for a user whose only role is `operator`. */
const tokens: TokenValidator = {
  async validate(value: string): Promise<ValidatedToken> {
    if (value !== OPERATOR_TOKEN) return fakeTokens.validate(value);
    const alice = await fakeTokens.validate('alice-token');
    return { ...alice, userId: 'olga', userName: 'olga', roles: [{ id: 'role-operator', name: 'operator' }] };
  },
};

const POLICY = `
# Operators look after the cloud without being admins.
"admin_or_operator": "rule:admin_api or role:operator"
"os_compute_api:os-hypervisors:list": "rule:admin_or_operator"
"os_compute_api:os-services:update": "rule:admin_or_operator"
# Only admins create servers.
"os_compute_api:servers:create": "rule:admin_api"
`;

let h: Harness;
let dir: string;
let host: Awaited<ReturnType<typeof addComputeHost>>;

function asOperator(method: 'GET' | 'PUT', url: string, body?: unknown) {
  return h.app.inject({
    method,
    url,
    headers: {
      'x-auth-token': OPERATOR_TOKEN,
      'openstack-api-version': 'compute 2.53',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stratus-policy-api-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, POLICY);
  h = await startComputeApi({}, { policy: new Policy(file), tokens });
  host = await addComputeHost(h, 'host1');
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a policy file', () => {
  it('lets the operator role list hypervisors, and nothing more than it grants', async () => {
    const listed = await asOperator('GET', '/v2.1/os-hypervisors');
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      listed.json().hypervisors.map((x: { hypervisor_hostname: string }) => x.hypervisor_hostname),
      [host.node.hypervisor_hostname],
    );
    // The detail is another rule, left at its default.
    const detail = await asOperator('GET', '/v2.1/os-hypervisors/detail');
    assert.equal(detail.statusCode, 403);
    assert.equal(
      fault(detail).message,
      "Policy doesn't allow os_compute_api:os-hypervisors:list-detail to be performed.",
    );
    // A member is still refused.
    assert.equal((await client(h.app, 'alice').get('/v2.1/os-hypervisors')).statusCode, 403);
  });

  it('lets the operator role disable a compute service', async () => {
    const res = await asOperator('PUT', `/v2.1/os-services/${host.service.uuid}`, {
      status: 'disabled',
      disabled_reason: 'rack move',
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().service.status, 'disabled');
    const listed = await client(h.app, 'admin', '2.53').get('/v2.1/os-services?binary=stratus-compute');
    assert.equal(listed.json().services[0].status, 'disabled');
    // Listing services is not granted.
    assert.equal((await asOperator('GET', '/v2.1/os-services')).statusCode, 403);
  });

  it('forbids members to create servers, and creates nothing', async () => {
    const body = { server: { name: 'web', imageRef: h.cirros.id, flavorRef: '1' } };
    const refused = await client(h.app, 'alice').post('/v2.1/servers', body);
    assert.equal(refused.statusCode, 403);
    assert.equal(fault(refused).message, "Policy doesn't allow os_compute_api:servers:create to be performed.");
    const servers = await h.database.db.selectFrom('instances').select('uuid').execute();
    assert.deepEqual(servers, []);
    // Members keep what the file does not touch.
    assert.equal((await client(h.app, 'alice').get('/v2.1/servers')).statusCode, 200);
    // An admin still creates.
    assert.equal((await client(h.app, 'admin').post('/v2.1/servers', body)).statusCode, 202);
  });

  it('the operator is no admin elsewhere: context_is_admin decides, not the file', async () => {
    const other = await asOperator('GET', `/v2.1/servers?all_tenants=1`);
    assert.equal(other.statusCode, 403);
  });
});

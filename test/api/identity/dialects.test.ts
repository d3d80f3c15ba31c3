/**
 * The identity store and token queries on MariaDB and PostgreSQL: one scenario through the API that
 * touches every query shape (joins, subqueries in UPDATE, unique violations, cascades, purge).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dialect } from '../../../src/common/db/connection-url.ts';
import { bootstrapIdentity } from '../../../src/api/identity/bootstrap.ts';
import { ADMIN_PASSWORD, call, login, makeMember, passwordAuth, startIdentity } from './harness.ts';

for (const dialect of ['mysql', 'postgres'] as const satisfies readonly Dialect[]) {
  describe(`identity on ${dialect}`, () => {
    test('tokens, CRUD, assignments, revocation and purge', async () => {
      const h = await startIdentity({ dialect, overrides: { token: { expiration: '60' } } });
      try {
        const admin = h.admin.token;
        // Bootstrap again: idempotent, and concurrent runs resolve their unique-key races.
        await Promise.all([1, 2].map(() => bootstrapIdentity(h.database, h.config)));
        assert.equal((await call(h, 'GET', '/v3/roles', { token: admin })).body.roles!.length, 3);

        const member = await makeMember(h, { user: 'alice', project: 'p1', password: 'pw' });
        const dup = await call(h, 'POST', '/v3/projects', { token: admin, body: { project: { name: 'p1' } } });
        assert.equal(dup.status, 409);
        assert.equal(
          (await call(h, 'POST', '/v3/roles', { token: admin, body: { role: { name: 'member' } } })).status,
          409,
        );

        const token = await login(h, 'alice', 'pw', 'p1');
        const validated = await call(h, 'GET', '/v3/auth/tokens', {
          token: admin,
          headers: { 'x-subject-token': token },
        });
        assert.equal(validated.status, 200);
        assert.deepEqual(
          validated.body.token!.roles!.map((r) => r.name),
          ['member', 'reader'],
        );
        assert.equal((await call(h, 'POST', '/v3/auth/tokens', { body: passwordAuth('alice', 'nope') })).status, 401);

        const named = await call(h, 'GET', `/v3/role_assignments?user.id=${member.userId}&include_names&effective`, {
          token: admin,
        });
        assert.deepEqual(
          named.body.role_assignments!.map((a) => `${a.role.name}@${a.scope.project!.name}`),
          ['member@p1', 'reader@p1'],
        );
        assert.deepEqual(
          (await call(h, 'GET', '/v3/auth/projects', { token })).body.projects!.map((p) => p.name),
          ['p1'],
        );

        // Revocation: one token, then by project, by user and by domain.
        assert.equal(
          (await call(h, 'DELETE', '/v3/auth/tokens', { token: admin, headers: { 'x-subject-token': token } })).status,
          204,
        );
        assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token })).status, 401);
        const second = await login(h, 'alice', 'pw', 'p1');
        await call(h, 'PATCH', `/v3/users/${member.userId}`, { token: admin, body: { user: { password: 'pw2' } } });
        assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token: second })).status, 401);

        const domain = await call(h, 'POST', '/v3/domains', { token: admin, body: { domain: { name: 'D2' } } });
        const domainId = domain.body.domain!.id;
        await call(h, 'POST', '/v3/projects', { token: admin, body: { project: { name: 'dp', domain_id: domainId } } });
        await call(h, 'POST', '/v3/users', {
          token: admin,
          body: { user: { name: 'du', domain_id: domainId, password: 'pw' } },
        });
        await call(h, 'PATCH', `/v3/domains/${domainId}`, { token: admin, body: { domain: { enabled: false } } });
        assert.equal((await call(h, 'DELETE', `/v3/domains/${domainId}`, { token: admin })).status, 204);

        assert.equal((await call(h, 'DELETE', `/v3/projects/${member.projectId}`, { token: admin })).status, 204);
        assert.equal((await call(h, 'DELETE', `/v3/users/${member.userId}`, { token: admin })).status, 204);
        assert.deepEqual(
          (await call(h, 'GET', `/v3/role_assignments?user.id=${member.userId}`, { token: admin })).body
            .role_assignments,
          [],
        );

        h.clock.advance(61);
        assert.ok((await h.tokens.purgeExpired()) >= 3);
        assert.equal((await call(h, 'GET', '/v3/auth/catalog', { token: admin })).status, 401);
        await login(h, 'admin', ADMIN_PASSWORD, 'admin');
      } finally {
        await h.close();
      }
    });

    test('the catalog: seeded once, duplicates, region trees, cascades, tokens', async () => {
      const h = await startIdentity({ dialect });
      try {
        const token = h.admin.token;
        await Promise.all([1, 2].map(() => bootstrapIdentity(h.database, h.config)));
        assert.equal((await call(h, 'GET', '/v3/endpoints', { token })).body.endpoints!.length, 12);

        await call(h, 'PUT', '/v3/regions/R2', { token, body: { region: { description: 'two' } } });
        assert.equal((await call(h, 'POST', '/v3/regions', { token, body: { region: { id: 'R2' } } })).status, 409);
        await call(h, 'POST', '/v3/regions', { token, body: { region: { id: 'R2a', parent_region_id: 'R2' } } });
        const service = await call(h, 'POST', '/v3/services', {
          token,
          body: { service: { type: 'volume', name: 'cinder', description: 'd' } },
        });
        const serviceId = service.body.service!.id;
        const endpoint = { service_id: serviceId, interface: 'public', url: 'http://v/' };
        await call(h, 'POST', '/v3/endpoints', { token, body: { endpoint: { ...endpoint, region_id: 'R2a' } } });
        const v30 = await call(h, 'POST', '/v3/endpoints', {
          token,
          body: { endpoint: { ...endpoint, region: 'R3' } },
        });
        assert.equal(v30.status, 201);
        assert.equal((await call(h, 'DELETE', '/v3/regions/R2', { token })).status, 403);

        const issued = await call(h, 'POST', '/v3/auth/tokens', {
          body: passwordAuth('admin', ADMIN_PASSWORD, 'admin'),
        });
        const volume = issued.body.token!.catalog!.find((s) => s.type === 'volume')!;
        assert.deepEqual(volume.endpoints.map((e) => e.region).sort(), ['R2a', 'R3']);

        assert.equal((await call(h, 'DELETE', `/v3/services/${serviceId}`, { token })).status, 204);
        assert.equal((await call(h, 'DELETE', '/v3/regions/R2', { token })).status, 204);
        assert.deepEqual(
          (await call(h, 'GET', '/v3/regions', { token })).body.regions!.map((r) => r.id),
          ['R3', 'RegionOne'],
        );
        assert.equal((await call(h, 'GET', '/v3/endpoints', { token })).body.endpoints!.length, 12);
      } finally {
        await h.close();
      }
    });
  });
}

/**
 * os-migrations and servers/{id}/migrations: no server moves yet, so the lists are empty, but every
 * filter, page parameter and version is checked as Nova checks them.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PROJECT_A, client, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let server: string;

before(async () => {
  h = await startComputeApi();
  server = (await seedServer(h)).uuid;
});
after(async () => {
  await h.close();
});

describe('os-migrations', () => {
  it('answers an empty list at every version', async () => {
    for (const version of ['2.1', '2.23', '2.59', '2.66', '2.80']) {
      const res = await client(h.app, 'admin', version).get(
        `/v2.1/os-migrations?host=host1&status=running&instance_uuid=${server}&migration_type=resize`,
      );
      assert.equal(res.statusCode, 200, version);
      assert.deepEqual(res.json(), { migrations: [] });
    }
  });

  it('checks paging and changes-since from 2.59, changes-before from 2.66, user and project from 2.80', async () => {
    const at = (version: string) => client(h.app, 'admin', version);
    const ok = [
      ['2.59', 'limit=5&changes-since=2026-01-01T00:00:00Z'],
      ['2.66', 'changes-since=2026-01-01T00:00:00Z&changes-before=2026-02-01T00:00:00Z'],
      ['2.80', `user_id=alice&project_id=${PROJECT_A}`],
    ];
    for (const [version, query] of ok) {
      assert.equal((await at(version!).get(`/v2.1/os-migrations?${query}`)).statusCode, 200, `${version} ${query}`);
    }
    const refused: [string, string, RegExp][] = [
      ['2.59', 'limit=-1', /limit/],
      ['2.59', 'limit=1&limit=2', /limit/],
      ['2.59', 'changes-since=yesterday', /is not a 'date-time'/],
      ['2.59', 'changes-before=2026-01-01T00:00:00Z', /'changes-before' was unexpected/],
      ['2.59', 'foo=1', /'foo' was unexpected/],
      ['2.66', 'changes-since=2026-02-01T00:00:00Z&changes-before=2026-01-01T00:00:00Z', /must be less than or equal/],
      ['2.79', 'user_id=alice', /'user_id' was unexpected/],
      ['2.59', 'marker=unknown', /^Marker unknown could not be found\.$/],
    ];
    for (const [version, query, message] of refused) {
      const res = await at(version).get(`/v2.1/os-migrations?${query}`);
      assert.equal(res.statusCode, 400, `${version} ${query}`);
      assert.match(fault(res).message, message);
    }
    // Before 2.59 Nova's query schema was open and paging did not exist.
    assert.equal((await at('2.58').get('/v2.1/os-migrations?foo=1&limit=-1&marker=x')).statusCode, 200);
  });

  it('is for admins; a member may not list even its own project', async () => {
    const res = await client(h.app, 'alice', '2.80').get(`/v2.1/os-migrations?project_id=${PROJECT_A}`);
    assert.equal(res.statusCode, 403);
    assert.equal(fault(res).message, "Policy doesn't allow os_compute_api:os-migrations:index to be performed.");
  });
});

describe('servers/{id}/migrations', () => {
  it('answers an empty list for a server that exists, from 2.23', async () => {
    for (const version of ['2.23', '2.59', '2.80']) {
      const res = await client(h.app, 'admin', version).get(`/v2.1/servers/${server}/migrations`);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { migrations: [] });
    }
    const old = await client(h.app, 'admin', '2.22').get(`/v2.1/servers/${server}/migrations`);
    assert.equal(old.statusCode, 404);
  });

  it('finds no live migration in progress by id', async () => {
    const res = await client(h.app, 'admin', '2.23').get(`/v2.1/servers/${server}/migrations/1`);
    assert.equal(res.statusCode, 404);
    assert.equal(fault(res).message, `In-progress live migration 1 is not found for server ${server}.`);
    assert.equal((await client(h.app, 'admin', '2.22').get(`/v2.1/servers/${server}/migrations/1`)).statusCode, 404);
  });

  it('is 404 for an unknown server and 403 for a member of its project', async () => {
    const unknown = await client(h.app, 'admin', '2.23').get(`/v2.1/servers/${randomUUID()}/migrations`);
    assert.equal(unknown.statusCode, 404);
    const member = await client(h.app, 'alice', '2.23').get(`/v2.1/servers/${server}/migrations`);
    assert.equal(member.statusCode, 403);
    const stranger = await client(h.app, 'bob', '2.23').get(`/v2.1/servers/${server}/migrations`);
    assert.equal(stranger.statusCode, 404, 'another project does not learn the server exists');
  });
});

/**
 * The list filters of GET /servers and /servers/detail as Nova takes them: which a member may use at
 * which microversion (the others are dropped), exact and regular-expression filters, changes-before,
 * locked, the address filters, and the 400s for bad values and, from 2.75, unknown names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markInstanceDeleted, type Instance } from '../../../src/objects/instances.ts';
import { client, fault, PROJECT_B, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let web: Instance;
let db: Instance;
let locked: Instance;
let other: Instance;
let gone: Instance;

before(async () => {
  h = await startComputeApi();
  web = await seedServer(h, { name: 'web-1', user: 'alice' });
  db = await seedServer(h, { name: 'db-1', user: 'carol', host: 'host2', state: { availability_zone: 'zone-b' } });
  locked = await seedServer(h, { name: 'locked-1', state: { locked: 1, vm_state: 'stopped', power_state: 4 } });
  await h.database.db.updateTable('instances').set({ key_name: 'ops-key' }).where('uuid', '=', db.uuid).execute();
  other = await seedServer(h, { project: PROJECT_B, user: 'bob', name: 'web-b' });
  gone = await seedServer(h, { name: 'gone-1' });
  await markInstanceDeleted(h.database.db, gone.uuid);
});
after(() => h.close());

const ids = async (who: 'alice' | 'admin', url: string, version?: string) => {
  const res = await client(h.app, who, version).get(url);
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().servers as { id: string }[]).map((s) => s.id).sort();
};
const sorted = (...instances: Instance[]) => instances.map((i) => i.uuid).sort();

describe('server list filters', () => {
  it("drops a member's admin-only filters, and applies them from the version that opens them to members", async () => {
    const all = sorted(web, db, locked);
    assert.deepEqual(await ids('alice', '/v2.1/servers?user_id=carol'), all, 'before 2.83 user_id is dropped');
    assert.deepEqual(await ids('alice', '/v2.1/servers?user_id=carol', '2.83'), sorted(db));
    assert.deepEqual(await ids('alice', '/v2.1/servers?host=host2', '2.96'), all, 'host is for admins only');
    assert.deepEqual(await ids('alice', '/v2.1/servers?key_name=ops', '2.83'), sorted(db));
    assert.deepEqual(await ids('alice', '/v2.1/servers?availability_zone=zone-b', '2.83'), sorted(db));
    assert.deepEqual(await ids('alice', '/v2.1/servers?vm_state=stopped&power_state=4', '2.83'), sorted(locked));
  });

  it('gives admins every filter: exact ones by equality, the others as regular expressions', async () => {
    assert.deepEqual(await ids('admin', '/v2.1/servers?all_tenants&host=host2'), sorted(db));
    assert.deepEqual(await ids('admin', `/v2.1/servers?all_tenants&uuid=${web.uuid}`), sorted(web));
    assert.deepEqual(await ids('admin', `/v2.1/servers?all_tenants&tenant_id=${PROJECT_B}`), sorted(other));
    assert.deepEqual(await ids('admin', `/v2.1/servers?all_tenants&project_id=${PROJECT_B}`), sorted(other));
    assert.deepEqual(await ids('admin', '/v2.1/servers?all_tenants&name=^web'), sorted(web, other));
    assert.deepEqual(await ids('admin', '/v2.1/servers?all_tenants&node=host2'), sorted(db), 'node is a regex');
    assert.deepEqual(
      await ids('admin', '/v2.1/servers?all_tenants&reservation_id=seeded'),
      sorted(web, db, locked, other),
    );
    assert.deepEqual(await ids('admin', '/v2.1/servers?all_tenants&kernel_id=x'), [], 'Stratus has no kernel ids');
    // Without all_tenants the list is the admin's own project, whatever project_id says.
    assert.deepEqual(await ids('admin', `/v2.1/servers?project_id=${PROJECT_B}`), []);
  });

  it('filters on locked from 2.73, refusing a value that is no boolean', async () => {
    assert.deepEqual(await ids('alice', '/v2.1/servers?locked=true', '2.73'), sorted(locked));
    assert.deepEqual(await ids('alice', '/v2.1/servers?locked=false', '2.73'), sorted(web, db));
    assert.deepEqual(await ids('alice', '/v2.1/servers?locked=true', '2.72'), sorted(web, db, locked));
    const bad = await client(h.app, 'alice', '2.73').get('/v2.1/servers?locked=maybe');
    assert.equal(bad.statusCode, 400);
    assert.match(fault(bad).message, /Unrecognized value 'maybe'/);
  });

  it('filters on changes-before from 2.66, deleted servers included, and refuses it before changes-since', async () => {
    const future = '2999-01-01T00:00:00Z';
    const withGone = await ids('alice', `/v2.1/servers?changes-before=${future}`, '2.66');
    assert.deepEqual(withGone, sorted(web, db, locked, gone));
    assert.deepEqual(await ids('alice', '/v2.1/servers?changes-before=2000-01-01T00:00:00Z', '2.66'), []);
    const reversed = await client(h.app, 'alice', '2.66').get(
      `/v2.1/servers?changes-since=${future}&changes-before=2000-01-01T00:00:00Z`,
    );
    assert.equal(reversed.statusCode, 400);
    assert.equal(fault(reversed).message, 'The value of changes-since must be less than or equal to changes-before.');
    const malformed = await client(h.app, 'alice', '2.66').get('/v2.1/servers?changes-before=yesterday');
    assert.equal(malformed.statusCode, 400);
  });

  it('matches no server by ip or ip6 (Stratus has no networking: no server has an address)', async () => {
    assert.deepEqual(await ids('alice', '/v2.1/servers?ip=10.'), []);
    assert.deepEqual(await ids('alice', '/v2.1/servers?ip6=fe80', '2.5'), []);
    // ip6 is not a member's filter before 2.5: dropped.
    assert.deepEqual(await ids('alice', '/v2.1/servers?ip6=fe80', '2.4'), sorted(web, db, locked));
  });

  it('refuses unknown names from 2.75 and joined-table fields for admins', async () => {
    assert.deepEqual(await ids('alice', '/v2.1/servers?bogus=1', '2.74'), sorted(web, db, locked));
    const unknown = await client(h.app, 'alice', '2.75').get('/v2.1/servers?bogus=1');
    assert.equal(unknown.statusCode, 400);
    assert.match(fault(unknown).message, /'bogus' was unexpected/);
    const joined = await client(h.app, 'admin').get('/v2.1/servers?metadata=x');
    assert.equal(joined.statusCode, 400);
    assert.equal(fault(joined).message, 'Invalid filter field: metadata.');
    assert.deepEqual(await ids('alice', '/v2.1/servers?metadata=x'), sorted(web, db, locked), 'dropped for members');
  });

  it('lists deleted servers only for admins asking with deleted=true', async () => {
    assert.deepEqual(await ids('admin', '/v2.1/servers?deleted=true&all_tenants'), sorted(gone));
    assert.deepEqual(await ids('alice', '/v2.1/servers?deleted=true'), sorted(web, db, locked), 'dropped for members');
  });
});

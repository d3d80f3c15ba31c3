/**
 * The metadata service over HTTP, on a real database: signed instance ids (403 when forged), the project
 * and address checks (404, revealing nothing), lookup by source address, documents as guests read them,
 * and the password the guest posts once.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createMetadataHandler } from '../../../src/api/metadata/handler.ts';
import { signInstanceId } from '../../../src/api/metadata/identify.ts';
import { markInstanceDeleted } from '../../../src/objects/instances.ts';
import { serverPassword } from '../../../src/objects/server-password.ts';
import { createInstancePort } from '../../../src/network/server-ports.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { insertTestInstance } from '../../helpers/instance-rows.ts';
import { sendSlowBody, statusOf } from '../../helpers/slow-body.ts';
import { createTestNetwork } from '../../helpers/networks.ts';

const SECRET = 'proxy-secret';
const PROJECT = 'p1';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvbrWsUfLBOA3jG7V1cXtTnfKd8a6D6vb8NDnE7vNWZ me@host';

let database: TestDatabase;
let signed: { server: Server; url: string };
let byAddress: { server: Server; url: string };
let guest: { uuid: string; ip: string };
let networkId: string;

async function listen(serviceMetadataProxy: boolean): Promise<{ server: Server; url: string }> {
  const handler = createMetadataHandler({
    db: database.db,
    settings: { dhcpDomain: 'novalocal', defaultAvailabilityZone: 'nova', vendorData: { v: 1 } },
    cacheSeconds: 15,
    serviceMetadataProxy,
    sharedSecret: SECRET,
  });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A live instance with a key, user data and metadata, and a port on the network at `ip`. */
async function seedGuest(ip: string, project = PROJECT): Promise<{ uuid: string; ip: string }> {
  const uuid = await insertTestInstance(database.db, { project, host: 'host1' });
  await database.db
    .updateTable('instances')
    .set({
      key_name: 'k',
      key_data: KEY,
      key_type: 'ssh',
      user_data: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
    })
    .where('uuid', '=', uuid)
    .execute();
  await database.db.insertInto('instance_metadata').values({ instance_uuid: uuid, key: 'role', value: 'db' }).execute();
  await createInstancePort(
    database.db,
    { projectId: project, networkId, fixedIp: ip, securityGroups: ['default'] },
    { deviceId: uuid, deviceOwner: 'compute:nova', hostId: 'host1' },
  );
  return { uuid, ip };
}

function proxyHeaders(
  uuid: string,
  ip: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    'X-Instance-ID': uuid,
    'X-Instance-ID-Signature': signInstanceId(SECRET, uuid),
    'X-Tenant-ID': PROJECT,
    'X-Forwarded-For': ip,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
}

before(async () => {
  database = await openTestDatabase();
  networkId = (await createTestNetwork(database.db, { projectId: PROJECT, name: 'private', prefix: '10.20.0' })).id;
  guest = await seedGuest('10.20.0.5');
  signed = await listen(true);
  byAddress = await listen(false);
});
after(async () => {
  for (const s of [signed, byAddress]) await new Promise((resolve) => s.server.close(resolve));
  await database.close();
});

describe('metadata service: instances named by a signing proxy', () => {
  it('serves meta_data.json, user_data and the EC2 tree to the instance the proxy names', async () => {
    const get = (path: string) => fetch(`${signed.url}${path}`, { headers: proxyHeaders(guest.uuid, guest.ip) });
    const meta = await get('/openstack/latest/meta_data.json');
    assert.equal(meta.status, 200);
    assert.match(meta.headers.get('content-type')!, /^application\/json/);
    const doc = (await meta.json()) as Record<string, unknown>;
    assert.equal(doc['uuid'], guest.uuid);
    assert.equal(doc['hostname'], 'vm.novalocal');
    assert.deepEqual(doc['meta'], { role: 'db' });
    assert.deepEqual(doc['public_keys'], { k: KEY });
    assert.equal(doc['project_id'], PROJECT);
    assert.ok(!('admin_pass' in doc));
    assert.equal(await (await get('/openstack/latest/user_data')).text(), '#!/bin/sh\necho hi\n');
    assert.equal(await (await get('/latest/meta-data/local-ipv4')).text(), '10.20.0.5');
    assert.equal(await (await get('/latest/meta-data/public-keys/0/openssh-key')).text(), KEY);
    assert.equal(await (await get('/2009-04-04/meta-data/security-groups')).text(), 'default');
    assert.equal(await (await get('/latest/meta-data/placement/availability-zone')).text(), 'nova');
    assert.match(await (await get('/latest/meta-data/instance-id')).text(), /^i-[0-9a-f]{8}$/);
    assert.equal(await (await get('/openstack/latest/vendor_data2.json')).text(), '{"static": {"v": 1}}');
    const network = JSON.parse(await (await get('/openstack/latest/network_data.json')).text()) as {
      networks: { type: string; network_id: string }[];
    };
    assert.deepEqual(network.networks[0], {
      id: 'network0',
      type: 'ipv4_dhcp',
      link: network.networks[0] && (network as unknown as { links: { id: string }[] }).links[0]!.id,
      network_id: networkId,
    });
    assert.equal((await get('/openstack/latest/nothing')).status, 404);
    assert.equal((await get('/2000-01-01/meta-data')).status, 404);
  });

  it('answers the version list at / without asking who calls', async () => {
    const root = await fetch(`${signed.url}/`);
    assert.equal(root.status, 200);
    assert.ok((await root.text()).endsWith('2009-04-04\nlatest'));
  });

  it('refuses a missing header with 400 and a bad signature with 403, before reading anything', async () => {
    const path = `${signed.url}/openstack/latest/meta_data.json`;
    for (const missing of ['X-Instance-ID', 'X-Instance-ID-Signature', 'X-Tenant-ID', 'X-Forwarded-For']) {
      const r = await fetch(path, { headers: proxyHeaders(guest.uuid, guest.ip, { [missing]: undefined }) });
      assert.equal(r.status, 400, missing);
    }
    const forged = [signInstanceId('wrong', guest.uuid), signInstanceId(SECRET, `${guest.uuid}x`), 'abc', ''];
    for (const signature of forged) {
      const r = await fetch(path, {
        headers: proxyHeaders(guest.uuid, guest.ip, { 'X-Instance-ID-Signature': signature }),
      });
      assert.equal(r.status, 403, signature);
      assert.ok(!(await r.text()).includes(guest.uuid));
    }
  });

  it('answers 404 alike for an unknown or deleted instance, another project, or an address not its own', async () => {
    const other = await seedGuest('10.20.0.6');
    const path = '/openstack/latest/meta_data.json';
    const bodies = new Set<string>();
    const cases = [
      proxyHeaders('00000000-0000-4000-8000-000000000000', guest.ip),
      proxyHeaders(guest.uuid, guest.ip, { 'X-Tenant-ID': 'p2' }),
      proxyHeaders(guest.uuid, other.ip),
      proxyHeaders(guest.uuid, '10.99.0.1'),
    ];
    for (const headers of cases) {
      const r = await fetch(`${signed.url}${path}`, { headers });
      assert.equal(r.status, 404);
      bodies.add(await r.text());
    }
    assert.equal(bodies.size, 1, 'every 404 reads the same');
    const gone = await seedGuest('10.20.0.7');
    await markInstanceDeleted(database.db, gone.uuid);
    assert.equal((await fetch(`${signed.url}${path}`, { headers: proxyHeaders(gone.uuid, gone.ip) })).status, 404);
  });

  it('takes the guest password once: GET shows it, a second POST is 409, one too long 400', async () => {
    const g = await seedGuest('10.20.0.8');
    const url = `${signed.url}/openstack/latest/password`;
    const headers = proxyHeaders(g.uuid, g.ip);
    assert.equal(await (await fetch(url, { headers })).text(), '');
    const tooLong = await fetch(url, { method: 'POST', headers, body: 'x'.repeat(1021) });
    assert.equal(tooLong.status, 400);
    assert.equal(await serverPassword(database.db, g.uuid), '');
    const posted = await fetch(url, { method: 'POST', headers, body: 'ZW5jcnlwdGVk' });
    assert.equal(posted.status, 200);
    assert.equal(await serverPassword(database.db, g.uuid), 'ZW5jcnlwdGVk');
    assert.equal(await (await fetch(url, { headers })).text(), 'ZW5jcnlwdGVk');
    const again = await fetch(url, { method: 'POST', headers, body: 'b3RoZXI=' });
    assert.equal(again.status, 409);
    assert.equal(await serverPassword(database.db, g.uuid), 'ZW5jcnlwdGVk');
    assert.equal((await fetch(url, { method: 'PUT', headers, body: 'x' })).status, 400);
    // Folsom had no password.
    assert.equal(
      (await fetch(`${signed.url}/openstack/2012-08-10/password`, { method: 'POST', headers, body: 'x' })).status,
      404,
    );
  });
  it('answers a password post far over the limit with 400, which a client writing it slowly reads', async () => {
    const g = await seedGuest('10.20.0.9');
    for (const chunked of [false, true]) {
      const result = await sendSlowBody({
        port: Number(new URL(signed.url).port),
        path: '/openstack/latest/password',
        headers: { ...proxyHeaders(g.uuid, g.ip), 'content-type': 'text/plain' },
        size: 2 * 1024 * 1024 + 3,
        chunked,
      });
      assert.equal(result.error, null, `the client saw ${result.error} instead of the answer`);
      assert.equal(statusOf(result.answer), 400, result.answer.slice(0, 200));
    }
    assert.equal(await serverPassword(database.db, g.uuid), '');
  });
});

/** GET `path` from source address `from` (any 127/8 address is the loopback's on Linux). */
function getFrom(
  from: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { localAddress: from, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('metadata service: instances found by source address', () => {
  it('serves the instance that holds the source address, and 404 to an address no instance holds', async () => {
    const loopNet = await createTestNetwork(database.db, { projectId: PROJECT, name: 'loop', prefix: '127.0.0' });
    const saved = networkId;
    networkId = loopNet.id;
    const local = await seedGuest('127.0.0.5');
    networkId = saved;
    const meta = await getFrom('127.0.0.5', `${byAddress.url}/openstack/latest/meta_data.json`);
    assert.equal(meta.status, 200);
    assert.equal((JSON.parse(meta.body) as { uuid: string }).uuid, local.uuid);
    assert.equal((await getFrom('127.0.0.5', `${byAddress.url}/latest/meta-data/local-ipv4`)).body, '127.0.0.5');
    // Headers a guest could send change nothing in this mode.
    const spoofed = await getFrom(
      '127.0.0.5',
      `${byAddress.url}/openstack/latest/meta_data.json`,
      proxyHeaders(guest.uuid, guest.ip),
    );
    assert.equal((JSON.parse(spoofed.body) as { uuid: string }).uuid, local.uuid);
    assert.equal((await getFrom('127.0.0.9', `${byAddress.url}/openstack/latest/meta_data.json`)).status, 404);
  });
});

/**
 * The metadata proxy against a stub metadata service that checks what Nova's metadata handler checks:
 * the signature of X-Instance-ID with the shared secret. Guests are stood for by this process connecting
 * from 127.0.0.1 (a "guest" at that address) and from 127.0.0.2 (an address that is no guest's).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MetadataProxy } from '../../../../src/compute/network/metadata-proxy/metadata-proxy.ts';
import type { ProxyTable } from '../../../../src/compute/network/metadata-proxy/proxy-table.ts';

const SECRET = 'a shared secret';
const UUID = '5d7a4b64-1f3a-4c55-9b1e-2c0f6e2a9d11';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(
  port: number,
  path: string,
  options: { method?: string; body?: string; from?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        localAddress: options.from ?? '127.0.0.1',
        agent: false,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('metadata proxy', () => {
  const seen: Seen[] = [];
  let service: Server;
  let proxy: MetadataProxy;
  let table: ProxyTable;
  let port: number;

  before(async () => {
    // As Nova: a request whose signature does not match its X-Instance-ID is refused with 403.
    service = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
        const id = String(req.headers['x-instance-id'] ?? '');
        const expected = createHmac('sha256', SECRET).update(id).digest('hex');
        if (req.headers['x-instance-id-signature'] !== expected) {
          res.writeHead(403, { 'content-type': 'text/plain' }).end('bad signature');
          return;
        }
        if (req.url === '/missing') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ uuid: id, project_id: req.headers['x-tenant-id'] }));
      });
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    table = {
      upstream: `http://127.0.0.1:${(service.address() as AddressInfo).port}`,
      upstream_socket: null,
      secret: SECRET,
      networks: [
        {
          id: 'net-1',
          address: '127.0.0.1',
          guests: [{ ip: '127.0.0.1', instance_uuid: UUID, project_id: 'project-1' }],
        },
      ],
    };
    proxy = new MetadataProxy('127.0.0.1');
    port = (await proxy.setTable(table))['net-1']!;
  });

  after(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => service.close(() => resolve()));
  });

  it("forwards a guest's request with Nova's headers, signed with the shared secret", async () => {
    const answer = await get(port, '/openstack/latest/meta_data.json?x=1', {
      headers: { 'X-Instance-ID': 'someone-else', 'X-Forwarded-For': '10.9.9.9', 'X-Tenant-ID': 'theirs' },
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { uuid: UUID, project_id: 'project-1' });
    const last = seen.at(-1)!;
    assert.equal(last.url, '/openstack/latest/meta_data.json?x=1');
    assert.equal(last.headers['x-instance-id'], UUID, "the guest's own X-Instance-ID is not passed on");
    assert.equal(last.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(last.headers['x-tenant-id'], 'project-1');
    assert.match(String(last.headers['x-instance-id-signature']), /^[0-9a-f]{64}$/);
  });

  it('passes the method and body on, and the service status and body back', async () => {
    const posted = await get(port, '/openstack/latest/password', { method: 'POST', body: 'secret-password' });
    assert.equal(posted.status, 200);
    assert.equal(seen.at(-1)!.method, 'POST');
    assert.equal(seen.at(-1)!.body, 'secret-password');
    const missing = await get(port, '/missing');
    assert.deepEqual(missing, { status: 404, body: 'no such thing' });
  });

  it('answers 404 to an address that is no guest of the network, asking the service nothing', async () => {
    const before = seen.length;
    const answer = await get(port, '/openstack/latest/meta_data.json', { from: '127.0.0.2' });
    assert.equal(answer.status, 404);
    assert.equal(seen.length, before);
  });

  it('is refused by the service when its secret is not the service one', async () => {
    await proxy.setTable({ ...table, secret: 'another secret' });
    try {
      assert.equal((await get(port, '/openstack/latest/meta_data.json')).status, 403);
    } finally {
      assert.equal((await proxy.setTable(table))['net-1'], port, 'a network keeps its listener across tables');
    }
  });

  it('answers 502 when the metadata service cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await proxy.setTable({ ...table, upstream: `http://127.0.0.1:${deadPort}` });
    try {
      assert.equal((await get(port, '/')).status, 502);
    } finally {
      await proxy.setTable(table);
    }
  });

  it('closes the listener of a network no longer in its table', async () => {
    const ports = await proxy.setTable({ ...table, networks: [{ ...table.networks[0]!, id: 'net-2' }] });
    assert.deepEqual(Object.keys(ports), ['net-2']);
    await assert.rejects(get(port, '/'), /ECONNREFUSED/);
    port = (await proxy.setTable(table))['net-1']!;
  });

  it('refuses a connection that arrives at another address than the network redirects to', async () => {
    const other = new MetadataProxy('127.0.0.1');
    try {
      const otherPort = (
        await other.setTable({ ...table, networks: [{ ...table.networks[0]!, address: '10.255.255.1' }] })
      )['net-1']!;
      await assert.rejects(get(otherPort, '/'), /socket hang up|ECONNRESET/);
    } finally {
      await other.close();
    }
  });
});

/**
 * A small stand-in for the identity and image APIs over real HTTP, for tests of compute's image client
 * and cache: password auth returns a token whose catalog points at the stub; images are files served
 * with the checksum and hash of their true bytes unless a test records a wrong one.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceTokenSource } from '../../src/compute/image/service-token.ts';

export interface StubImage {
  id: string;
  diskFormat: string;
  file: string;
  properties?: Record<string, string>;
  /** Record this checksum instead of the file's own (a corrupt store). */
  checksum?: string;
}

export interface ImageApiStub {
  url: string;
  tokens: ServiceTokenSource;
  add(image: StubImage): void;
  /** How many times each image's data was downloaded. */
  downloads: Map<string, number>;
  /** Images deleted through the API, in order. */
  deleted: string[];
  close(): Promise<void>;
}

export async function startImageApiStub(): Promise<ImageApiStub> {
  const images = new Map<string, StubImage>();
  const downloads = new Map<string, number>();
  const deleted: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    if (req.method === 'POST' && path === '/v3/auth/tokens') {
      res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'stub-token' });
      const catalog = [{ type: 'image', endpoints: [{ interface: 'public', region: 'RegionOne', url }] }];
      res.end(JSON.stringify({ token: { expires_at: new Date(Date.now() + 3600_000).toISOString(), catalog } }));
      return;
    }
    if (req.headers['x-auth-token'] !== 'stub-token') return void res.writeHead(401).end();
    const match = /^\/v2\/images\/([^/]+)(\/file)?$/.exec(path);
    const image = match && images.get(match[1]!);
    if (!image) return void res.writeHead(404).end();
    // Snapshot uploads (compute's SnapshotImageSink): the formats, the data into the image's file, removal.
    if (req.method === 'PATCH') return void req.resume().on('end', () => res.writeHead(200).end('{}'));
    if (req.method === 'PUT' && match[2]) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        writeFileSync(image.file, Buffer.concat(chunks));
        res.writeHead(204).end();
      });
      return;
    }
    if (req.method === 'DELETE') {
      images.delete(image.id);
      deleted.push(image.id);
      return void res.writeHead(204).end();
    }
    const data = readFileSync(image.file);
    if (match[2]) {
      downloads.set(image.id, (downloads.get(image.id) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data);
      return;
    }
    const body = {
      ...image.properties,
      id: image.id,
      status: 'active',
      disk_format: image.diskFormat,
      container_format: 'bare',
      size: data.length,
      checksum: image.checksum ?? createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new ServiceTokenSource({
    authUrl: `${url}/v3`,
    username: 'compute',
    password: 'secret',
    projectName: 'service',
    userDomainName: 'Default',
    projectDomainName: 'Default',
    regionName: 'RegionOne',
  });
  return {
    url,
    tokens,
    add: (image) => images.set(image.id, image),
    downloads,
    deleted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

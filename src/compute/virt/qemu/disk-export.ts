/**
 * The two ends of a cold migration's (or resize's) disk copy between hosts. The source serves the files
 * of the guests it is moving away over HTTP, each guest's under a token of 256 random bits that only the
 * move's messages carry; the destination pulls them into its own instance directory.
 *
 * Why the destination pulls over TCP rather than a local copy: the two compute hosts may be two machines
 * (they share no directory), and the destination, which decides where the disks go, fetches exactly what
 * the source's manifest names. Only the guest's own overlays travel: the base image is fetched on the
 * destination from the image service (or found in its cache), as Nova's libvirt driver does.
 * The server listens only while a guest is being moved away, on an ephemeral port of the address other
 * hosts reach this one at ([qemu] migration_address).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getLogger } from '../../../common/log/logger.ts';

const log = getLogger('compute.qemu.moves');

/** What a guest's export holds: a manifest (JSON) saying what each file is, and the files by name. */
interface Offer {
  uuid: string;
  manifest: unknown;
  files: ReadonlyMap<string, string>;
}

/** The name of a file in an export: one path segment, so a destination never writes outside its directory. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export function isExportName(name: string): boolean {
  return FILE_NAME.test(name);
}

/** The source's HTTP server of the disks of guests being moved away. */
export class DiskExport {
  private server: Server | null = null;
  private starting: Promise<Server> | null = null;
  /** token -> offer; one per guest (a new offer of a guest replaces its old one). */
  private readonly offers = new Map<string, Offer>();

  constructor(private readonly address: string) {}

  /** Serves `files` (name -> path) and `manifest` of guest `uuid`; returns the URL the destination pulls from. */
  async offer(uuid: string, manifest: unknown, files: ReadonlyMap<string, string>): Promise<string> {
    for (const name of files.keys()) if (!isExportName(name)) throw new Error(`cannot export a file named ${name}`);
    this.withdraw(uuid);
    const token = randomBytes(32).toString('hex');
    this.offers.set(token, { uuid, manifest, files });
    const server = await this.listening();
    const { port } = server.address() as AddressInfo;
    const host = this.address.includes(':') ? `[${this.address}]` : this.address;
    log.info({ instance: uuid, port, files: files.size }, 'disks exported for a move');
    return `http://${host}:${port}/${token}/`;
  }

  /** The guest's disks are no longer served; the server stops once it serves nothing. */
  withdraw(uuid: string): void {
    for (const [token, offer] of this.offers) if (offer.uuid === uuid) this.offers.delete(token);
    if (this.offers.size === 0) void this.close();
  }

  async close(): Promise<void> {
    this.offers.clear();
    const server = this.server ?? (await this.starting?.catch(() => null)) ?? null;
    this.server = null;
    this.starting = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private listening(): Promise<Server> {
    if (this.server) return Promise.resolve(this.server);
    this.starting ??= new Promise<Server>((resolve, reject) => {
      const server = createServer((req, res) => void this.serve(req, res));
      server.once('error', reject);
      server.listen(0, this.address, () => {
        server.off('error', reject);
        this.server = server;
        resolve(server);
      });
    }).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [token = '', kind, name] = (req.url ?? '').split('?')[0]!.split('/').slice(1);
    const offer = this.offers.get(token);
    if (req.method !== 'GET' || !offer) return void res.writeHead(404).end();
    if (kind === 'manifest' && name === undefined) {
      const body = JSON.stringify(offer.manifest);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    const path = kind === 'files' && name ? offer.files.get(name) : undefined;
    if (!path) return void res.writeHead(404).end();
    try {
      const { size } = await stat(path);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      await pipeline(createReadStream(path), res);
    } catch (err) {
      log.warn({ instance: offer.uuid, file: name, err: (err as Error).message }, 'could not serve a disk');
      if (!res.headersSent) res.writeHead(500);
      res.destroy();
    }
  }
}

/** The destination's side: the source's manifest of a guest's disks. */
export async function fetchManifest(url: string): Promise<unknown> {
  const res = await fetch(new URL('manifest', url));
  if (!res.ok) throw new Error(`the source host answered ${res.status} for the disks' manifest at ${url}`);
  return res.json();
}

/** The destination's side: one file of the export, written to `target`; a short read is an error. */
export async function fetchFile(url: string, name: string, target: string): Promise<void> {
  if (!isExportName(name)) throw new Error(`the source host names a disk file ${JSON.stringify(name)}`);
  const res = await fetch(new URL(`files/${name}`, url));
  if (!res.ok || !res.body) throw new Error(`the source host answered ${res.status} for disk file ${name}`);
  const expected = Number(res.headers.get('content-length'));
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(target));
  const { size } = await stat(target);
  if (Number.isFinite(expected) && size !== expected) {
    throw new Error(`disk file ${name} arrived incomplete: ${size} of ${expected} bytes`);
  }
}

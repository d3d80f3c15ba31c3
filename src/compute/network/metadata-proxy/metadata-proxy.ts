/**
 * The metadata proxy of a compute host, as Neutron's metadata agent is for Nova: guests' requests to
 * http://169.254.169.254/ are redirected by the datapath to a listener of this proxy, one TCP port per
 * network, so the port a connection arrives on names its network and its source address names the guest
 * (the datapath's anti-spoofing rules make a port's fixed address its own). The proxy forwards the request
 * (method, path, body) to the metadata service and says which instance asks with Nova's headers:
 * X-Instance-ID, X-Tenant-ID, X-Forwarded-For and X-Instance-ID-Signature, the HMAC-SHA256 of the instance
 * uuid keyed with the shared secret, which the service checks before it believes the other headers.
 *
 * Only the guests this host plugged are in its table, so no request can name another host's guest, and a
 * source address the table does not know gets 404 before anything reaches the service. Headers the guest
 * sends are not passed on (a guest could otherwise name another instance in X-Instance-ID); only its body's
 * type and length are.
 */
import { createHmac } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { getLogger } from '../../../common/log/logger.ts';
import type { ProxyGuest, ProxyNetwork, ProxyTable } from './proxy-table.ts';

const log = getLogger('compute.metadata-proxy');

/** Seconds the metadata service gets to answer one request before the guest is told 504. */
const UPSTREAM_TIMEOUT_MS = 60_000;

/** Nova's X-Instance-ID-Signature: lowercase hex HMAC-SHA256 of the instance uuid keyed with the secret. */
export function instanceSignature(secret: string, instanceUuid: string): string {
  return createHmac('sha256', secret).update(instanceUuid).digest('hex');
}

/** `::ffff:10.0.0.5` (an IPv4 peer of a dual-stack socket) as `10.0.0.5`. */
function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

interface Listener {
  server: Server;
  port: number;
}

export class MetadataProxy {
  private table: ProxyTable | null = null;
  /** network id -> the network's entry of the current table, and guests by fixed address. */
  private networks = new Map<string, { network: ProxyNetwork; guests: Map<string, ProxyGuest> }>();
  private readonly listeners = new Map<string, Listener>();

  /** `listenHost`: where listeners bind; the datapath's namespace is the proxy's only network. */
  constructor(private readonly listenHost = '0.0.0.0') {}

  /**
   * Makes the proxy serve exactly this table: a listener for each network (kept across calls, so the
   * datapath's redirects stay valid), the listeners of networks no longer listed closed. Returns the port
   * of each network's listener.
   */
  async setTable(table: ProxyTable): Promise<Record<string, number>> {
    this.table = table;
    this.networks = new Map(
      table.networks.map((n) => [n.id, { network: n, guests: new Map(n.guests.map((g) => [g.ip, g])) }]),
    );
    for (const [id, listener] of this.listeners) {
      if (!this.networks.has(id)) {
        this.listeners.delete(id);
        await closeServer(listener.server);
      }
    }
    for (const id of this.networks.keys()) {
      if (!this.listeners.has(id)) this.listeners.set(id, await this.listen(id));
    }
    return Object.fromEntries([...this.listeners].map(([id, l]) => [id, l.port]));
  }

  async close(): Promise<void> {
    const servers = [...this.listeners.values()].map((l) => l.server);
    this.listeners.clear();
    await Promise.all(servers.map(closeServer));
  }

  private async listen(networkId: string): Promise<Listener> {
    const server = createServer((req, res) => this.handle(networkId, req, res));
    // A connection the datapath did not redirect from this network (it arrives at another address) is
    // refused before a byte is read: only the redirect makes the source address mean a guest.
    server.on('connection', (socket: Socket) => {
      const expected = this.networks.get(networkId)?.network.address;
      if (plainAddress(socket.localAddress) !== expected) socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.listenHost, () => resolve());
    });
    return { server, port: (server.address() as AddressInfo).port };
  }

  private handle(networkId: string, req: IncomingMessage, res: ServerResponse): void {
    const entry = this.networks.get(networkId);
    const source = plainAddress(req.socket.remoteAddress);
    const guest = entry?.guests.get(source);
    if (!this.table || !guest) {
      // As Neutron's agent: an address that is no instance's port on this network learns nothing more.
      log.info({ network: networkId, source }, 'metadata request from an address that is no guest here');
      reply(res, 404, 'Not Found');
      return;
    }
    this.forward(this.table, guest, req, res);
  }

  private forward(table: ProxyTable, guest: ProxyGuest, req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', table.upstream);
    const headers: Record<string, string> = {
      'X-Instance-ID': guest.instance_uuid,
      'X-Tenant-ID': guest.project_id,
      'X-Forwarded-For': guest.ip,
      'X-Instance-ID-Signature': instanceSignature(table.secret, guest.instance_uuid),
    };
    for (const name of ['content-type', 'content-length', 'transfer-encoding', 'accept'] as const) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(url, {
      method: req.method,
      headers,
      timeout: UPSTREAM_TIMEOUT_MS,
      ...(table.upstream_socket === null ? {} : { socketPath: table.upstream_socket }),
    });
    upstream.on('response', (answer) => {
      const out: Record<string, string> = {};
      for (const name of ['content-type', 'content-length', 'transfer-encoding'] as const) {
        const value = answer.headers[name];
        if (typeof value === 'string') out[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('the metadata service did not answer in time')));
    upstream.on('error', (err) => {
      log.warn({ instance: guest.instance_uuid, err: err.message }, 'the metadata service could not be reached');
      if (res.headersSent) res.destroy();
      else reply(res, 502, 'Bad Gateway');
    });
    req.pipe(upstream);
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  const body = `${status} ${text}\n`;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

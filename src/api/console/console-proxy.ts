/**
 * The console proxy (Nova's nova-novncproxy), part of the api service: serves the noVNC web client and
 * relays each console websocket to a guest's VNC server. A websocket gets through only with a console
 * token (in its `?token=` query, or a `token` cookie as noVNC can send it) that is still unused and
 * unexpired; the token is used up before anything is relayed, and it says which compute host address
 * and port to connect to, so the proxy needs no RPC and no knowledge of hosts. Bytes go both ways as
 * binary frames, with backpressure (a slow browser slows the VNC server, not the proxy's memory).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import type { Db } from '../../common/db/database.ts';
import { getLogger } from '../../common/log/logger.ts';
import { consumeConsoleToken, type ConsoleConnection } from '../../objects/console-auth-tokens.ts';
import { serveStaticFile } from './static-files.ts';

const log = getLogger('api.console-proxy');
/** RFB messages from a browser are small (keys, pointer, clipboard); this bounds a hostile one. */
const MAX_CLIENT_FRAME = 1024 * 1024;

export interface ConsoleProxyOptions {
  db: Db;
  /** Directory of the noVNC client (`[DEFAULT] web`). */
  web: string;
  /** Where `/` redirects: the page of `[vnc] novncproxy_base_url`. */
  indexPage: string;
  /** `[console] allowed_origins`: other host names whose pages may open console websockets. */
  allowedOrigins: readonly string[];
}

export interface ConsoleProxy {
  readonly server: Server;
  /** Stops listening and ends every console connection. */
  close(): Promise<void>;
}

export function createConsoleProxy(options: ConsoleProxyOptions): ConsoleProxy {
  const open = new Set<Duplex>();
  const server = createServer((request, response) => {
    serveStaticFile(options.web, request, response, options.indexPage).catch((err: Error) => {
      log.error({ err: err.message, url: request.url }, 'serving a console page failed');
      response.destroy();
    });
  });
  // noVNC asks for the 'binary' subprotocol (older versions offer 'base64' too); any other client none.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME,
    handleProtocols: (offered) => (offered.has('binary') ? 'binary' : false),
  });
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    openConsole(options, request, socket)
      .then((vnc) => {
        if (!vnc) return;
        // The browser gave up while we checked the token and connected.
        if (socket.destroyed) return void vnc.destroy();
        wss.handleUpgrade(request, socket, head, (ws) => relay(ws, vnc));
      })
      .catch((err: Error) => {
        log.error({ err: err.message }, 'console websocket failed');
        refuse(socket, 500, 'The console proxy failed; see its log.');
      });
  });
  return {
    server,
    close: async () => {
      for (const socket of open) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Checks origin and token, then connects to the guest's VNC server; null once the request was refused. */
async function openConsole(
  options: ConsoleProxyOptions,
  request: IncomingMessage,
  socket: Duplex,
): Promise<Socket | null> {
  const why = originRefusal(request, options.allowedOrigins);
  if (why) return refuse(socket, 403, why);
  const token = tokenOf(request);
  if (!token) return refuse(socket, 401, 'No console token: open the URL that `openstack console url show` gives.');
  const connection = await consumeConsoleToken(options.db, token);
  if (!connection) {
    return refuse(socket, 401, 'The console token has expired, was used already, or is invalid: ask for a new URL.');
  }
  try {
    const vnc = await connectTo(connection);
    log.info(
      { instance: connection.instanceUuid, host: connection.host, port: connection.port },
      'console connection opened',
    );
    return vnc;
  } catch (err) {
    log.warn({ instance: connection.instanceUuid, err: (err as Error).message }, 'guest VNC server unreachable');
    return refuse(
      socket,
      502,
      `The console of instance ${connection.instanceUuid} at ${connection.host}:${connection.port} cannot be ` +
        'reached; is [vnc] server_listen an address this proxy can reach?',
    );
  }
}

function connectTo(connection: ConsoleConnection): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const vnc = connect({ host: connection.host, port: connection.port });
    vnc.once('connect', () => {
      vnc.off('error', reject);
      vnc.setNoDelay(true);
      resolve(vnc);
    });
    vnc.once('error', reject);
  });
}

/** Relays both ways until either side ends; each end closes the other. */
function relay(ws: WebSocket, vnc: Socket): void {
  const stream = createWebSocketStream(ws);
  const end = () => {
    vnc.destroy();
    stream.destroy();
  };
  vnc.on('error', end).on('close', end);
  stream.on('error', end).on('close', end);
  vnc.pipe(stream).pipe(vnc);
}

function tokenOf(request: IncomingMessage): string | null {
  const query = new URL(request.url ?? '/', 'http://proxy').searchParams.get('token');
  if (query) return query;
  const cookie = (request.headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith('token='));
  return cookie ? decodeURIComponent(cookie.slice('token='.length)) : null;
}

/**
 * Browsers send the page's origin with a websocket; one from another site must not use a console URL
 * it got hold of (Nova's proxy checks the same). Clients that send no Origin are not browsers.
 */
function originRefusal(request: IncomingMessage, allowed: readonly string[]): string | null {
  const origin = request.headers.origin;
  if (!origin || origin === 'null')
    return origin === 'null' ? 'A console cannot be opened from an opaque origin.' : null;
  const originHost = hostnameOf(origin);
  const ownHost = request.headers.host ? hostnameOf(`http://${request.headers.host}`) : null;
  if (originHost && (originHost === ownHost || allowed.includes(originHost))) return null;
  return `Origin ${origin} may not open consoles here; add its host to [console] allowed_origins if it should.`;
}

function hostnameOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function refuse(socket: Duplex, status: number, message: string): null {
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error', 502: 'Bad Gateway' }[status];
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  return null;
}

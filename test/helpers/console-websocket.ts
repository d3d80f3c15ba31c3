/** A console websocket client for tests, talking to the console proxy as noVNC does. */
import { WebSocket } from 'ws';

/** The websocket URL noVNC builds from a console URL: the page's host and port, then its `path` parameter. */
export function websocketUrlOf(consoleUrl: string): string {
  const page = new URL(consoleUrl);
  const path = page.searchParams.get('path') ?? 'websockify';
  return `${page.protocol === 'https:' ? 'wss' : 'ws'}://${page.host}/${path}`;
}

/** A console websocket that keeps what arrives from the start: the VNC server speaks first, maybe in the upgrade's packet. */
export class ConsoleSocket {
  private received = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closed = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.received = Buffer.concat([this.received, data]);
      this.waiter?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  /** Bytes to the guest's VNC server, as one binary frame. */
  write(data: Buffer): void {
    this.ws.send(data);
  }

  /** The next `n` bytes from the guest's VNC server. */
  async read(n: number): Promise<Buffer> {
    while (this.received.length < n) {
      if (this.closed) throw new Error(`console closed after ${this.received.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const bytes = this.received.subarray(0, n);
    this.received = this.received.subarray(n);
    return bytes;
  }
}

/** Opens a console websocket with noVNC's subprotocol; resolves once open, or with the HTTP status of a refusal. */
export function openConsoleSocket(url: string, headers: Record<string, string> = {}): Promise<ConsoleSocket | number> {
  const ws = new WebSocket(url, ['binary'], { headers });
  const socket = new ConsoleSocket(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/**
 * A keep-alive HTTP client for timing the server, on node:http.
 *
 * Why not fetch: Node 20's fetch (undici) served a burst of 50 concurrent POSTs to all-in-one with some
 * requests waiting up to 0.8 s in the client, while the server's own log showed each handled in 1 to 2
 * ms; with this agent the same burst's slowest request took 150 ms. A benchmark of the server must not
 * time its client's connection pool.
 */
import http from 'node:http';

export interface JsonResponse {
  status: number;
  body: string;
}

export interface DrainedResponse {
  status: number;
  bytes: number;
}

export class BurstClient {
  private readonly agent: http.Agent;

  constructor(concurrency: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  request(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<JsonResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method,
          agent: this.agent,
          headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * A request whose body is read to the end and dropped, for timing large responses: concatenating a
   * megabyte per response made the client itself collect garbage often enough (external memory
   * pressure: a full mark-compact every few responses) to show in the p99 it was measuring.
   */
  drain(url: string, headers: Record<string, string>): Promise<DrainedResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method: 'GET', agent: this.agent, headers }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

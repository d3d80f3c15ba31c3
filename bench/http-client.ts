/**
 * The benchmarks' HTTP clients for timing the server: a keep-alive node:http agent for bursts of
 * concurrent requests, and curl for large responses.
 *
 * Why not fetch: Node 20's fetch (undici) served a burst of 50 concurrent POSTs to all-in-one with some
 * requests waiting up to 0.8 s in the client, while the server's own log showed each handled in 1 to 2
 * ms; with the agent the same burst's slowest request took 150 ms. A benchmark of the server must not
 * time its client's connection pool (nor its garbage collector: see timedGets).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface JsonResponse {
  status: number;
  body: string;
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

  close(): void {
    this.agent.destroy();
  }
}

/**
 * `count` GETs of `url` one after the other on one keep-alive connection, timed by curl: milliseconds
 * from each request's start to its last byte. Large bodies read by this process made it collect garbage
 * during the requests it timed (a full mark-compact every few responses, read through node:http as
 * through fetch), so a client outside Node times them. Throws unless each answers 200 with at least
 * `minBytes`.
 */
export async function timedGets(
  url: string,
  headers: Record<string, string>,
  count: number,
  minBytes: number,
): Promise<number[]> {
  const args = ['--silent', '--show-error', '--write-out', '%{http_code} %{size_download} %{time_total}\\n'];
  for (const [name, value] of Object.entries(headers)) args.push('--header', `${name}: ${value}`);
  for (let i = 0; i < count; i++) args.push('--output', '/dev/null', url);
  let stdout: string;
  try {
    ({ stdout } = await run('curl', args, { maxBuffer: 1024 * 1024 }));
  } catch (err) {
    throw new Error(
      `curl failed (the benchmark times large responses with it; apt-get install -y curl): ${(err as Error).message}`,
    );
  }
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [status, bytes, seconds] = line.split(' ');
      if (status !== '200' || Number(bytes) < minBytes) throw new Error(`GET ${url}: ${status}, ${bytes} bytes`);
      return Number(seconds) * 1000;
    });
}

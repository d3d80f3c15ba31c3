/**
 * `stratus metadata-proxy`: the process that runs a compute host's metadata proxy inside the datapath's
 * network namespace (started by the Linux bridge driver the way it starts dnsmasq: it outlives a compute
 * restart, so guests keep their metadata while the service restarts). The compute host drives it through
 * a unix socket (a file, so reachable from the host's own namespace): `PUT /table` with the whole proxy
 * table answers the port of each network's listener.
 */
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getLogger } from '../../../common/log/logger.ts';
import { MetadataProxy } from './metadata-proxy.ts';
import { checkProxyTable, type ProxyPorts } from './proxy-table.ts';

const log = getLogger('compute.metadata-proxy');

/** Largest table accepted: thousands of guests fit easily. */
const MAX_TABLE_BYTES = 16 * 1024 * 1024;

export interface ProxyProcessOptions {
  controlSocket: string;
  pidFile: string;
}

/** Runs the proxy until SIGTERM or SIGINT. */
export async function runMetadataProxy(options: ProxyProcessOptions): Promise<void> {
  const proxy = new MetadataProxy();
  const control = createServer((req, res) => {
    handleControl(proxy, req, res).catch((err: Error) => answer(res, 500, { error: err.message }));
  });
  await rm(options.controlSocket, { force: true });
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(options.controlSocket, () => resolve());
  });
  // Written once the socket listens: the driver waits for it before its first request.
  await writeFile(options.pidFile, `${process.pid}\n`);
  log.info({ control: options.controlSocket }, 'metadata proxy started');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await proxy.close();
  await new Promise<void>((resolve) => control.close(() => resolve()));
  await rm(options.controlSocket, { force: true });
  await rm(options.pidFile, { force: true });
}

async function handleControl(proxy: MetadataProxy, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url !== '/table') return answer(res, 404, { error: 'unknown path' });
  if (req.method !== 'PUT') return answer(res, 405, { error: 'only PUT' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TABLE_BYTES) return answer(res, 413, { error: 'table too large' });
    chunks.push(chunk);
  }
  let table: unknown;
  try {
    table = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return answer(res, 400, { error: 'the body is not JSON' });
  }
  if (!checkProxyTable.Check(table)) {
    const first = [...checkProxyTable.Errors(table)][0];
    return answer(res, 400, { error: `not a proxy table: ${first?.instancePath ?? ''} ${first?.message ?? ''}` });
  }
  const ports: ProxyPorts = { ports: await proxy.setTable(table) };
  answer(res, 200, ports);
}

function answer(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

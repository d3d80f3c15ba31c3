/**
 * The datapath's side of the metadata proxy (../metadata-proxy/): which guests it answers for, taken only
 * from the ports this host plugged, and the processes that serve them. One proxy per host runs inside the
 * datapath's namespace (`stratus metadata-proxy`, started and found again by its pid file as dnsmasq is);
 * the host hands it the whole table on every change and gets back each network's listener port, which
 * the nftables rules redirect 169.254.169.254:80 to (nft-ruleset.ts).
 *
 * A datapath inside a namespace usually has no route to the metadata service (the namespace holds only
 * bridges and taps), so there the proxy reaches it through a unix socket served by a socat relay in the
 * host's own namespace: a file is reachable from every namespace, as Neutron's haproxy reaches its agent.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../../common/package-root.ts';
import { inNamespace, type HostCommands } from '../host-commands.ts';
import { checkProxyPorts, type ProxyTable } from '../metadata-proxy/proxy-table.ts';
import type { HostPlan } from './host-plan.ts';
import { runningPid, stopProcess } from './pid-files.ts';

/** The address guests ask for their metadata (Nova's and every cloud's). */
export const METADATA_ADDRESS = '169.254.169.254';

export interface MetadataOptions {
  /** `<nova_metadata_protocol>://<nova_metadata_host>:<nova_metadata_port>`. */
  upstream: string;
  /** `[neutron] metadata_proxy_shared_secret`. */
  secret: string;
}

/** Where the datapath sends a network's metadata requests: its address on the bridge, the proxy's port. */
export interface MetadataRedirect {
  bridge: string;
  address: string;
  port: number;
}

/** Short names: a unix socket path must fit in 107 bytes. */
export interface MetadataFiles {
  directory: string;
  control: string;
  pid: string;
  log: string;
  relay: string;
  relayPid: string;
}

export function metadataFiles(stateDirectory: string): MetadataFiles {
  const directory = join(stateDirectory, 'mdp');
  return {
    directory,
    control: join(directory, 'ctl.sock'),
    pid: join(directory, 'pid'),
    log: join(directory, 'proxy.log'),
    relay: join(directory, 'up.sock'),
    relayPid: join(directory, 'relay.pid'),
  };
}

/**
 * The networks whose guests get metadata here: those where the host holds an IPv4 address (a subnet's
 * gateway) to redirect to, with the IPv4 addresses of this host's ports on them.
 */
export function proxyNetworks(plan: HostPlan): ProxyTable['networks'] {
  return plan.networks
    .filter((n) => n.metadataAddress !== null)
    .map((n) => ({
      id: n.id,
      address: n.metadataAddress!,
      guests: plan.ports
        .filter((p) => p.bridge === n.bridge)
        .flatMap((p) => p.ipv4.map((ip) => ({ ip, instance_uuid: p.instanceUuid, project_id: p.projectId }))),
    }))
    .filter((n) => n.guests.length > 0);
}

/**
 * Makes the proxy (and the relay, for a namespaced datapath) run and serve the plan's guests; returns the
 * redirects the rules must carry. With no network to serve, both are stopped and their files removed.
 */
export async function ensureMetadataProxy(
  host: HostCommands,
  files: MetadataFiles,
  plan: HostPlan,
  options: MetadataOptions,
): Promise<MetadataRedirect[]> {
  const networks = proxyNetworks(plan);
  if (networks.length === 0) {
    await removeMetadataProxy(files);
    return [];
  }
  await mkdir(files.directory, { recursive: true, mode: 0o700 });
  const relayed = host.namespace !== null;
  if (relayed) await ensureRelay(files, new URL(options.upstream));
  if ((await runningPid(files.pid, files.control)) === null) await startProxy(host, files);
  const table: ProxyTable = {
    upstream: options.upstream,
    upstream_socket: relayed ? files.relay : null,
    secret: options.secret,
    networks,
  };
  const ports = await putTable(files.control, table);
  return plan.networks.flatMap((n) => {
    const port = ports[n.id];
    return port === undefined || n.metadataAddress === null
      ? []
      : [{ bridge: n.bridge, address: n.metadataAddress, port }];
  });
}

/** Stops the proxy and the relay, if they run, and removes their files. */
export async function removeMetadataProxy(files: MetadataFiles): Promise<void> {
  await stopProcess(files.pid, files.control);
  await stopProcess(files.relayPid, files.relay);
  await rm(files.directory, { recursive: true, force: true });
}

/** Starts a process in the background, its output appended to the proxy's log; returns its pid. */
async function startDetached(
  argv: readonly string[],
  logPath: string,
): Promise<{ pid: number; exited: () => boolean }> {
  const logFile = await open(logPath, 'a', 0o600);
  try {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', logFile.fd, logFile.fd] });
    let gone = false;
    child.once('exit', () => (gone = true));
    child.once('error', () => (gone = true));
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    return { pid: child.pid, exited: () => gone };
  } finally {
    await logFile.close();
  }
}

/** Starts `stratus metadata-proxy` in the datapath's namespace and waits until its control socket listens. */
async function startProxy(host: HostCommands, files: MetadataFiles): Promise<void> {
  await rm(files.pid, { force: true });
  const argv = inNamespace(host.namespace, [
    process.execPath,
    join(packageRoot(), 'bin', 'stratus.js'),
    'metadata-proxy',
    '--control-socket',
    files.control,
    '--pid-file',
    files.pid,
  ]);
  const child = await startDetached(argv, files.log);
  // The first start after a source change builds the commands first (scripts/build.mjs): allow for it.
  for (let i = 0; i < 1200; i++) {
    if ((await runningPid(files.pid, files.control)) !== null) return;
    if (child.exited()) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const logText = await readFile(files.log, 'utf8').catch(() => '');
  throw new Error(`the metadata proxy did not start: ${logText.trim().split('\n').slice(-3).join(' | ')}`);
}

/** socat in the host's namespace: each connection to the relay socket is one to the service's host and port. */
async function ensureRelay(files: MetadataFiles, upstream: URL): Promise<void> {
  const port = upstream.port || (upstream.protocol === 'https:' ? '443' : '80');
  const hostname = upstream.hostname.replace(/^\[(.*)\]$/, '$1');
  const argv = ['socat', `UNIX-LISTEN:${files.relay},fork,mode=600,unlink-early`, `TCP:${hostname}:${port}`];
  const argsPath = join(files.directory, 'relay.args');
  const previous = await readFile(argsPath, 'utf8').catch(() => null);
  const running = await runningPid(files.relayPid, files.relay);
  if (running !== null && previous === argv.join('\n')) return;
  await stopProcess(files.relayPid, files.relay);
  await writeFile(argsPath, argv.join('\n'));
  const child = await startDetached(argv, files.log);
  await writeFile(files.relayPid, `${child.pid}\n`);
  for (let i = 0; i < 400; i++) {
    if (await socketAccepts(files.relay)) return;
    if (child.exited()) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the metadata relay (socat) did not start; see ${files.log}`);
}

async function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Hands the proxy its table; returns its listener port of each network. */
function putTable(controlSocket: string, table: ProxyTable): Promise<Record<string, number>> {
  const body = JSON.stringify(table);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: controlSocket,
        method: 'PUT',
        path: '/table',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (res.statusCode !== 200 || !checkProxyPorts.Check(parsed)) {
            reject(new Error(`the metadata proxy refused its table (${res.statusCode}): ${text.slice(0, 200)}`));
          } else resolve(parsed.ports);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

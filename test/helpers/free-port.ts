/**
 * A TCP port free on loopback right now, for servers that tests start in other processes (which must be
 * told their port before they bind it).
 *
 * The port is drawn at random below the kernel's ephemeral range, not asked of the kernel with port 0:
 * a port the kernel hands out for listening comes from the same range as the source ports of outgoing
 * connections, so between our probe closing it and the service binding it, any connection to RabbitMQ,
 * MariaDB or another service could take it as its source port and the service would fail with
 * EADDRINUSE. Below the range only another listener can collide, and the random draw makes that as
 * unlikely as two test files picking the same number among thousands.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;

function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > LOWEST + 1000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const end = ephemeralRangeStart();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (end - LOWEST));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${LOWEST} and ${end} in 50 tries`);
}

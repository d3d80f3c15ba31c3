/**
 * A TCP port free on loopback right now, for servers that tests start in other processes (which must be
 * told their port before they bind it).
 *
 * The port is drawn at random below the kernel's ephemeral range, not asked of the kernel with port 0:
 * a port the kernel hands out for listening comes from the same range as the source ports of outgoing
 * connections, so between our probe closing it and the service binding it, any connection to RabbitMQ,
 * MariaDB or another service could take it as its source port and the service would fail with
 * EADDRINUSE. Below the range only another listener can collide.
 *
 * Test files running side by side draw from the same range, and a port is free from the draw until the
 * service binds it, seconds later: with a few files starting clouds at once, two draws of the same number
 * happened (a CI run lost a file to EADDRINUSE). So a drawn port is also reserved for the life of the
 * process, by a file of its own in a directory every test process shares, created only if absent. A
 * reservation whose process is gone (killed before its exit handler ran) is taken over by renaming it
 * first: of two processes finding the same stale one, only one rename succeeds.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

export const RESERVATIONS = join(tmpdir(), 'stratus-test-ports');
const held: string[] = [];
process.once('exit', () => {
  for (const file of held) rmSync(file, { force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reserves `port` for this process among the test processes of this machine; false if another has it. */
export function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    held.push(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let holder: number;
  try {
    holder = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(holder) || holder <= 0 || alive(holder)) return false;
  const taken = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, taken);
  } catch {
    return false;
  }
  rmSync(taken, { force: true });
  return reserve(port);
}

export async function freePort(): Promise<number> {
  const end = ephemeralRangeStart();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (end - LOWEST));
    if (reserve(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port found between ${LOWEST} and ${end} in 50 tries`);
}

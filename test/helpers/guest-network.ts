/**
 * A small L2 network for real guests, made the way the datapath makes one: a bridge with an address (the
 * host's side, and the gateway the DHCP options name), tap devices on it for the guests' NICs, and dnsmasq
 * serving fixed addresses to the guests' MACs (option 121 default route, MTU 1400). Optionally all of it
 * inside a network namespace of its own. Every name carries a random prefix (the machine is shared);
 * `remove` takes everything away and is safe to call after a half-made setup.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testVif } from './vif.ts';
import type { Vif } from '../../src/wire/messages/network-info.ts';

const run = promisify(execFile);

/** The MTU the DHCP server hands out: not the default 1500, so a test sees the guest applied it. */
export const GUEST_NETWORK_MTU = 1400;

export interface GuestNetwork {
  /** The prefix of every name: bridge `<prefix>br`, taps `<prefix>t<N>`, namespace `<prefix>ns`. */
  readonly prefix: string;
  readonly namespace: string | null;
  readonly bridge: string;
  /** The bridge's address: the guests' gateway and the host's side of the network. */
  readonly gateway: string;
  /** A VIF whose tap exists on the bridge and whose MAC the DHCP server knows, with the address it gets. */
  addPort(hostname: string): Promise<{ vif: Vif; ip: string }>;
  /** Runs a command on the network's side (inside its namespace, if any). */
  exec(file: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** dnsmasq's output so far, for a failure message. */
  dnsmasqLog(): string;
  remove(): Promise<void>;
}

/** A /24 in 10.0.0.0/8 that no route of the host (or its namespace) covers yet. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'table', 'all']);
  for (;;) {
    const bytes = randomBytes(2);
    const subnet = `10.${100 + (bytes[0]! % 150)}.${bytes[1]!}`;
    if (!stdout.includes(`${subnet}.`)) return subnet;
  }
}

export async function createGuestNetwork(options: { namespace?: boolean } = {}): Promise<GuestNetwork> {
  const prefix = `sg${randomBytes(3).toString('hex')}`;
  const namespace = options.namespace ? `${prefix}ns` : null;
  const bridge = `${prefix}br`;
  const subnet = await freeSubnet();
  const gateway = `${subnet}.1`;
  const work = await mkdtemp(join(tmpdir(), 'stratus-guestnet-'));
  const hostsFile = join(work, 'dhcp-hosts');
  const taps: string[] = [];
  const hosts: string[] = [];
  let dnsmasq: ChildProcess | null = null;
  let dnsmasqOutput = '';
  const inside = (file: string, args: string[]) =>
    namespace ? { file: 'ip', args: ['netns', 'exec', namespace, file, ...args] } : { file, args };
  const exec = (file: string, args: string[]) => {
    const command = inside(file, args);
    return run(command.file, command.args, { timeout: 30_000 });
  };

  const network: GuestNetwork = {
    prefix,
    namespace,
    bridge,
    gateway,
    async addPort(hostname) {
      const tap = `${prefix}t${taps.length}`;
      const ip = `${subnet}.${10 + taps.length}`;
      const mac = `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
      await exec('ip', ['tuntap', 'add', tap, 'mode', 'tap']);
      taps.push(tap);
      await exec('ip', ['link', 'set', tap, 'master', bridge, 'up']);
      hosts.push(`${mac},${ip},${hostname}`);
      await writeFile(hostsFile, `${hosts.join('\n')}\n`);
      // dnsmasq rereads its hosts file on SIGHUP.
      dnsmasq?.kill('SIGHUP');
      return { vif: testVif({ mac, devname: tap, ip, cidr: `${subnet}.0/24` }), ip };
    },
    exec,
    dnsmasqLog: () => dnsmasqOutput,
    async remove() {
      if (dnsmasq && dnsmasq.exitCode === null && dnsmasq.signalCode === null) {
        const exited = new Promise((resolve) => dnsmasq!.once('exit', resolve));
        dnsmasq.kill('SIGKILL');
        await exited;
      }
      // Deleting the namespace takes its devices with it; in the host's, each goes by name.
      if (namespace) await run('ip', ['netns', 'delete', namespace]).catch(() => undefined);
      else {
        for (const device of [...taps, bridge]) await run('ip', ['link', 'delete', device]).catch(() => undefined);
      }
      await rm(work, { recursive: true, force: true });
    },
  };

  try {
    if (namespace) {
      await run('ip', ['netns', 'add', namespace]);
      await exec('ip', ['link', 'set', 'lo', 'up']);
    }
    await exec('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await exec('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    await exec('ip', ['link', 'set', bridge, 'up']);
    await writeFile(hostsFile, '');
    const command = inside('dnsmasq', [
      ...['--keep-in-foreground', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--log-dhcp'],
      // One interface, bound to it alone: other dnsmasq instances on the machine keep theirs.
      ...['--bind-interfaces', `--interface=${bridge}`, '--except-interface=lo'],
      `--dhcp-range=${subnet}.0,static,255.255.255.0,10m`,
      `--dhcp-hostsfile=${hostsFile}`,
      `--dhcp-leasefile=${join(work, 'leases')}`,
      `--pid-file=${join(work, 'dnsmasq.pid')}`,
      `--dhcp-option=option:classless-static-route,0.0.0.0/0,${gateway}`,
      `--dhcp-option=option:mtu,${GUEST_NETWORK_MTU}`,
    ]);
    const child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    dnsmasq = child;
    const collect = (chunk: Buffer) => (dnsmasqOutput += chunk.toString());
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    await new Promise<void>((resolve, reject) => {
      const started = () => dnsmasqOutput.includes('DHCP, sockets bound exclusively');
      const check = () => {
        if (started()) {
          child.stderr.off('data', check);
          resolve();
        }
      };
      child.stderr.on('data', check);
      child.once('exit', (code) => reject(new Error(`dnsmasq exited (${code}): ${dnsmasqOutput}`)));
      check();
    });
  } catch (err) {
    await network.remove();
    throw err;
  }
  return network;
}

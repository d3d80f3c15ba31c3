/**
 * Network namespaces standing for compute hosts, guests and the outside world, for the datapath's tests.
 * Everything is named with a random prefix per run (several sessions share the machine) and removed by
 * `destroy()`, including dnsmasq processes started for a state directory (a namespace's deletion would
 * not stop them).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Vif, VifNetwork, VifSecurityRule } from '../../src/wire/messages/network-info.ts';
import { bridgeName, tapName, VifShape } from '../../src/wire/messages/network-info.ts';

const run = promisify(execFile);

export async function sh(argv: readonly string[]): Promise<string> {
  const { stdout } = await run(argv[0]!, argv.slice(1));
  return stdout;
}

export async function succeeds(argv: readonly string[]): Promise<boolean> {
  return sh(argv).then(
    () => true,
    () => false,
  );
}

export class NetworkLab {
  /** Four hex characters: names stay within Linux's 15 characters. */
  readonly prefix = randomBytes(2).toString('hex');
  private readonly namespaces: string[] = [];
  readonly directory: Promise<string> = mkdtemp(join(tmpdir(), 'stratus-netlab-'));

  /** A network namespace `dp<prefix><role>`. */
  async namespace(role: string): Promise<string> {
    const name = `dp${this.prefix}${role}`;
    await sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    await sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** An id whose first 11 characters are unique to this run (bridge and tap names derive from them). */
  id(role: string): string {
    return `${this.prefix}${role}`.padEnd(11, '0') + '-0000-4000-8000-000000000000';
  }

  /** A guest: a namespace whose eth0 (with the port's MAC) is a veth whose other end is the tap in `hostNs`. */
  async guest(role: string, hostNs: string, vif: Vif): Promise<string> {
    const ns = await this.namespace(role);
    await sh(['ip', 'link', 'add', vif.devname, 'netns', hostNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', vif.mac_address, 'up']);
    return ns;
  }

  /** A veth between two namespaces: the "wire" of a physical network. */
  async wire(nsA: string, devA: string, nsB: string, devB: string): Promise<void> {
    await sh(['ip', 'link', 'add', devA, 'netns', nsA, 'type', 'veth', 'peer', 'name', devB, 'netns', nsB]);
    await sh(['ip', '-n', nsA, 'link', 'set', devA, 'up']);
    await sh(['ip', '-n', nsB, 'link', 'set', devB, 'up']);
  }

  /**
   * The hosts' management network: a veth between two namespaces with an address at each end (CIDR),
   * as a compute host's management NIC carries its my_ip and live_migration_inbound_addr.
   */
  async managementWire(a: { ns: string; dev: string; cidr: string }, b: { ns: string; dev: string; cidr: string }) {
    await this.wire(a.ns, a.dev, b.ns, b.dev);
    for (const end of [a, b]) await sh(['ip', '-n', end.ns, 'addr', 'add', end.cidr, 'dev', end.dev]);
  }

  async ping(ns: string, address: string, source?: string): Promise<boolean> {
    const from = source ? ['-I', source] : [];
    return succeeds(['ip', 'netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '1', ...from, address]);
  }

  /**
   * Runs busybox udhcpc on the guest's eth0; the lease's settings are applied to eth0 and returned as
   * udhcpc's environment (ip, mask, router, staticroutes, mtu, dns, ...), or null without a lease.
   */
  async dhcp(ns: string): Promise<Record<string, string> | null> {
    const dir = await this.directory;
    const script = join(dir, `udhcpc-${ns}.sh`);
    const out = join(dir, `lease-${ns}.env`);
    await writeFile(
      script,
      [
        '#!/bin/sh',
        `[ "$1" = bound ] || exit 0`,
        `env > ${out}`,
        'busybox ip addr add "$ip/$mask" dev "$interface"',
        'busybox ip route add default via "$router"',
      ].join('\n') + '\n',
    );
    await chmod(script, 0o755);
    await rm(out, { force: true });
    const ok = await succeeds([
      'ip',
      'netns',
      'exec',
      ns,
      'busybox',
      'udhcpc',
      '-i',
      'eth0',
      '-n',
      '-q',
      '-f',
      '-t',
      '4',
      '-T',
      '1',
      '-O',
      'staticroutes',
      '-O',
      'mtu',
      '-s',
      script,
    ]);
    if (!ok) return null;
    const env = await readFile(out, 'utf8');
    return Object.fromEntries(
      env
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /** Pids of processes whose command line mentions `text` (a state directory). */
  static async processesMentioning(text: string): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(text)) pids.push(Number(entry));
    }
    return pids;
  }

  /** Removes every namespace of this run and kills processes of its state directories. */
  async destroy(): Promise<void> {
    const dir = await this.directory;
    for (const pid of await NetworkLab.processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of this.namespaces.reverse()) await succeeds(['ip', 'netns', 'del', ns]);
    await rm(dir, { recursive: true, force: true });
  }
}

export interface NetworkSpec {
  id: string;
  projectId: string;
  cidr: string;
  gateway: string;
  type?: VifNetwork['network_type'];
  physicalNetwork?: string | null;
  segmentationId?: number | null;
  external?: boolean;
  mtu?: number;
  dns?: string[];
  hostRoutes?: { destination: string; nexthop: string }[];
}

export function network(spec: NetworkSpec): VifNetwork {
  return {
    id: spec.id,
    label: `net-${spec.id.slice(0, 6)}`,
    project_id: spec.projectId,
    bridge: bridgeName(spec.id),
    network_type: spec.type ?? 'local',
    physical_network: spec.physicalNetwork ?? null,
    segmentation_id: spec.segmentationId ?? null,
    mtu: spec.mtu ?? 1500,
    external: spec.external ?? false,
    subnets: [
      {
        id: `${spec.id}-subnet`,
        cidr: spec.cidr,
        ip_version: 4,
        gateway_ip: spec.gateway,
        dns_nameservers: spec.dns ?? [],
        host_routes: spec.hostRoutes ?? [],
        enable_dhcp: true,
      },
    ],
  };
}

/** An external (router:external) flat network on `physicalNetwork`, 198.51.100.0/24 with the gateway at .1. */
export function externalNetwork(id: string, physicalNetwork: string): VifNetwork {
  return network({
    id,
    projectId: 'admin',
    cidr: '198.51.100.0/24',
    gateway: '198.51.100.1',
    type: 'flat',
    physicalNetwork,
    external: true,
  });
}

export function vif(options: {
  id: string;
  mac: string;
  network: VifNetwork;
  ip: string;
  rules?: VifSecurityRule[];
  floating?: { address: string; network: VifNetwork }[];
  portSecurity?: boolean;
}): Vif {
  return VifShape.build({
    id: options.id,
    mac_address: options.mac,
    devname: tapName(options.id),
    network: options.network,
    fixed_ips: [{ subnet_id: options.network.subnets[0]!.id, ip_address: options.ip }],
    floating_ips: (options.floating ?? []).map((f, i) => ({
      id: `${options.id}-fip${i}`,
      floating_ip_address: f.address,
      fixed_ip_address: options.ip,
      floating_network: f.network,
    })),
    port_security_enabled: options.portSecurity ?? true,
    security_group_rules: options.rules ?? [],
  });
}

/** A security group rule (stateful), in the expanded shape a compute host receives. */
export function rule(
  direction: 'ingress' | 'egress',
  protocol: string | null = null,
  remotePrefixes: string[] | null = null,
  range: [number, number] | null = null,
): VifSecurityRule {
  return {
    direction,
    ethertype: 'IPv4',
    protocol,
    port_range_min: range?.[0] ?? null,
    port_range_max: range?.[1] ?? null,
    remote_prefixes: remotePrefixes,
  };
}

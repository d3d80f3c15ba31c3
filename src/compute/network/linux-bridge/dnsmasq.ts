/**
 * One dnsmasq per network on this host, answering only this host's ports (multi-host DHCP, as
 * nova-network's multi_host ran it): static entries MAC -> address from a hosts file, no dynamic range,
 * unknown MACs ignored, the host's gateway address as router, and DNS servers, host routes (option 121)
 * and MTU from an options file. dnsmasq rereads both files on SIGHUP, so entries change without a
 * restart. Its files live in `<state directory>/dhcp/<network id>/`; the pid file finds a dnsmasq again
 * after the compute service restarts.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostCommands } from '../host-commands.ts';
import type { PlannedNetwork } from './host-plan.ts';
import { runningPid, stopProcess } from './pid-files.ts';

export interface DhcpFiles {
  directory: string;
  hosts: string;
  opts: string;
  pid: string;
  leases: string;
}

export function dhcpFiles(stateDirectory: string, networkId: string): DhcpFiles {
  const directory = join(stateDirectory, 'dhcp', networkId);
  return {
    directory,
    hosts: join(directory, 'hosts'),
    opts: join(directory, 'opts'),
    pid: join(directory, 'pid'),
    leases: join(directory, 'leases'),
  };
}

/** Does this network need a DHCP server on this host? */
export function servesDhcp(network: PlannedNetwork): boolean {
  return network.dhcpSubnets.length > 0;
}

export function hostsFile(network: PlannedNetwork, leaseSeconds: number): string {
  return network.dhcpHosts.map((h) => `${h.mac},${h.ip},${leaseSeconds}\n`).join('');
}

export function optsFile(network: PlannedNetwork): string {
  const lines: string[] = [];
  for (const subnet of network.dhcpSubnets) {
    const tag = `tag:${subnet.tag}`;
    lines.push(`${tag},option:router,${subnet.gateway}`);
    if (subnet.dnsServers.length > 0) lines.push(`${tag},option:dns-server,${subnet.dnsServers.join(',')}`);
    lines.push(
      `${tag},option:classless-static-route,${subnet.routes.map((r) => `${r.destination},${r.nexthop}`).join(',')}`,
    );
    lines.push(`${tag},option:mtu,${network.mtu}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

function netmask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join('.');
}

export function dnsmasqArgs(network: PlannedNetwork, files: DhcpFiles, leaseSeconds: number): string[] {
  const args = [
    'dnsmasq',
    '--conf-file=/dev/null',
    '--no-hosts',
    '--no-resolv',
    // DHCP only: the subnets' DNS servers are handed out, this host answers no queries.
    '--port=0',
    '--bind-interfaces',
    `--interface=${network.bridge}`,
    '--except-interface=lo',
    `--pid-file=${files.pid}`,
    `--dhcp-leasefile=${files.leases}`,
    `--dhcp-hostsfile=${files.hosts}`,
    `--dhcp-optsfile=${files.opts}`,
    '--dhcp-ignore=tag:!known',
    '--user=root',
    '--group=root',
  ];
  for (const subnet of network.dhcpSubnets) {
    const [base, prefix] = subnet.cidr.split('/') as [string, string];
    args.push(`--dhcp-range=set:${subnet.tag},${base},static,${netmask(Number(prefix))},${leaseSeconds}s`);
  }
  return args;
}

/** Writes a file only when its content changed; says whether it did. */
async function writeIfChanged(path: string, content: string): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === content) return false;
  await writeFile(path, content);
  return true;
}

/** The pid of the network's dnsmasq, if that process is alive and is ours (its command line names our pid file). */
export function runningDnsmasq(files: DhcpFiles): Promise<number | null> {
  return runningPid(files.pid, `--pid-file=${files.pid}`);
}

/** Starts the network's dnsmasq, or makes the running one reread changed entries and options. */
export async function ensureDnsmasq(
  host: HostCommands,
  network: PlannedNetwork,
  files: DhcpFiles,
  leaseSeconds: number,
): Promise<void> {
  await mkdir(files.directory, { recursive: true });
  const hostsChanged = await writeIfChanged(files.hosts, hostsFile(network, leaseSeconds));
  const optsChanged = await writeIfChanged(files.opts, optsFile(network));
  const argsChanged = await writeIfChanged(
    join(files.directory, 'args'),
    dnsmasqArgs(network, files, leaseSeconds).join('\n'),
  );
  const pid = await runningDnsmasq(files);
  if (pid !== null && argsChanged) await stopDnsmasq(files);
  else if (pid !== null) {
    if (hostsChanged || optsChanged) process.kill(pid, 'SIGHUP');
    return;
  }
  // dnsmasq forks into the background once it has bound its sockets and written its pid file.
  await host.run(dnsmasqArgs(network, files, leaseSeconds));
}

/** Stops the network's dnsmasq and removes its files. */
export async function removeDnsmasq(files: DhcpFiles): Promise<void> {
  await stopDnsmasq(files);
  await rm(files.directory, { recursive: true, force: true });
}

/** Stops the network's dnsmasq, if it runs; its files stay. */
export function stopDnsmasq(files: DhcpFiles): Promise<void> {
  return stopProcess(files.pid, `--pid-file=${files.pid}`);
}

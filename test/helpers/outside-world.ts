/**
 * Two network namespaces for end-to-end tests of real guests: the datapath's (`[linux_bridge] namespace`,
 * the compute host's network stack, so the machine's own namespace is never changed) and "outside", the
 * world beyond the external network, joined by a veth that is the external flat network's wire
 * (physnet `extnet` on the datapath's end, OUTSIDE_ADDRESS on the outside's).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { OpenstackCli } from './openstack-cli.ts';

const run = promisify(execFile);

/** The outside world's address on the external network 203.0.113.0/24. */
export const OUTSIDE_ADDRESS = '203.0.113.200';

export interface OutsideWorld {
  datapathNs: string;
  outsideNs: string;
  /** The veth end in the datapath namespace: `extnet:<uplink>` in physical_interface_mappings. */
  uplink: string;
}

/** Makes the namespaces; `cleanup` gets their removal, to run after the cloud and its guests are gone. */
export async function makeOutsideWorld(cleanup: (() => Promise<void>)[]): Promise<OutsideWorld> {
  const prefix = `se${randomBytes(2).toString('hex')}`;
  const world = { datapathNs: `${prefix}dp`, outsideNs: `${prefix}out`, uplink: `${prefix}up` };
  const { datapathNs, outsideNs, uplink } = world;
  cleanup.push(async () => {
    for (const ns of [outsideNs, datapathNs]) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  });
  await run('ip', ['netns', 'add', datapathNs]);
  await run('ip', ['netns', 'add', outsideNs]);
  // Both ends are made in their namespaces at once: nothing appears in the machine's own.
  await run('ip', [
    ...['link', 'add', uplink, 'netns', datapathNs, 'type', 'veth'],
    ...['peer', 'name', 'eth0', 'netns', outsideNs],
  ]);
  for (const [ns, dev] of [
    [datapathNs, uplink],
    [outsideNs, 'eth0'],
    [outsideNs, 'lo'],
    [datapathNs, 'lo'],
  ] as const) {
    await run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  await run('ip', ['-n', outsideNs, 'addr', 'add', `${OUTSIDE_ADDRESS}/24`, 'dev', 'eth0']);
  return world;
}

/** Runs `argv` inside namespace `ns`; its standard output. */
export async function inNs(ns: string, argv: string[], timeout = 15_000): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...argv], { timeout });
  return stdout;
}

/**
 * The admin's external network `public` as a flat network on the uplink (physnet `extnet`), with the
 * subnet 203.0.113.0/24 (gateway .1, no DHCP) and floating IPs from .10 to .99.
 */
export async function createExternalNetwork(cli: OpenstackCli): Promise<void> {
  await cli.ok(
    ...['network', 'create', '--external', '--provider-network-type', 'flat'],
    ...['--provider-physical-network', 'extnet', 'public'],
  );
  await cli.ok(
    ...['subnet', 'create', '--network', 'public', '--subnet-range', '203.0.113.0/24', '--no-dhcp'],
    ...['--gateway', '203.0.113.1', '--allocation-pool', 'start=203.0.113.10,end=203.0.113.99', 'public-v4'],
  );
}

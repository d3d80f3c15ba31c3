/**
 * The Linux bridge datapath on real bridges, veths, nftables and dnsmasq, inside network namespaces: one
 * namespace is the compute host (the driver's `[linux_bridge] namespace`), guests are namespaces whose
 * eth0 is a veth whose host end carries the port's tap name, and "outside" is a namespace on the external
 * network's wire. Runs as root (the machine's tests do).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LinuxBridgeDriver } from '../../../../src/compute/network/linux-bridge/linux-bridge-driver.ts';
import type { Vif } from '../../../../src/wire/messages/network-info.ts';
import { NetworkLab, externalNetwork, network, rule, sh, succeeds, vif } from '../../../helpers/network-lab.ts';

describe('Linux bridge datapath on one host', () => {
  const lab = new NetworkLab();
  let host: string;
  let outside: string;
  let stateDirectory: string;
  let driver: LinuxBridgeDriver;
  const newDriver = () =>
    new LinuxBridgeDriver({
      physicalMappings: new Map([['public', 'ext0']]),
      namespace: host,
      stateDirectory,
      dhcpLeaseSeconds: 600,
      metadata: null,
    });

  const P1 = 'project-one';
  const P2 = 'project-two';
  const ext = externalNetwork(lab.id('ext'), 'public');
  const net1 = network({
    id: lab.id('n1'),
    projectId: P1,
    cidr: '10.20.0.0/24',
    gateway: '10.20.0.1',
    mtu: 1400,
    dns: ['10.20.0.53'],
    hostRoutes: [{ destination: '192.168.77.0/24', nexthop: '10.20.0.254' }],
  });
  const net2 = network({ id: lab.id('n2'), projectId: P2, cidr: '10.30.0.0/24', gateway: '10.30.0.1' });
  // The default security group: all egress, ingress from members of the group (expanded to addresses).
  const members = ['10.20.0.11/32', '10.20.0.12/32'];
  const defaultRules = [rule('egress'), rule('ingress', null, members)];
  const pingFromAnywhere = rule('ingress', 'icmp', ['0.0.0.0/0']);
  const g1Vif = (rules = defaultRules): Vif =>
    vif({
      id: lab.id('p1'),
      mac: 'fa:16:3e:00:00:11',
      network: net1,
      ip: '10.20.0.11',
      rules,
      floating: [{ address: '198.51.100.50', network: ext }],
    });
  const g2Vif = vif({
    id: lab.id('p2'),
    mac: 'fa:16:3e:00:00:12',
    network: net1,
    ip: '10.20.0.12',
    rules: defaultRules,
  });
  const g3Vif = vif({
    id: lab.id('p3'),
    mac: 'fa:16:3e:00:00:13',
    network: net2,
    ip: '10.30.0.13',
    rules: [rule('egress'), rule('ingress', 'icmp')],
  });
  const g2Specs = { 'quota:vif_inbound_average': '1000', 'quota:vif_outbound_average': '500' };
  let g1: string;
  let g2: string;
  let g3: string;

  const dnsmasqPid = async (networkId: string) =>
    Number((await readFile(join(stateDirectory, 'dhcp', networkId, 'pid'), 'utf8')).trim());

  before(async () => {
    stateDirectory = join(await lab.directory, 'state');
    host = await lab.namespace('h');
    outside = await lab.namespace('o');
    await lab.wire(host, 'ext0', outside, 'eth0');
    // The outside knows only the external network: no route to any tenant network.
    await sh(['ip', '-n', outside, 'addr', 'add', '198.51.100.100/24', 'dev', 'eth0']);
    g1 = await lab.guest('g1', host, g1Vif());
    g2 = await lab.guest('g2', host, g2Vif);
    g3 = await lab.guest('g3', host, g3Vif);
    driver = newDriver();
  });

  after(async () => {
    await driver.reconcile([]).catch(() => undefined);
    await lab.destroy();
  });

  it('plugs guests and hands each its address, gateway, routes, DNS and MTU over DHCP', async () => {
    await driver.plug('vm-1', [g1Vif()], {}, 'project');
    const firstPid = await dnsmasqPid(net1.id);
    await driver.plug('vm-2', [g2Vif], g2Specs, 'project');
    await driver.plug('vm-3', [g3Vif], {}, 'project');
    assert.equal(await dnsmasqPid(net1.id), firstPid, 'a new entry reaches dnsmasq without a restart');
    const lease = await lab.dhcp(g1);
    assert.ok(lease, 'guest 1 got no DHCP lease');
    assert.equal(lease.ip, '10.20.0.11');
    assert.equal(lease.mask, '24');
    assert.equal(lease.router, '10.20.0.1');
    assert.equal(lease.dns?.trim(), '10.20.0.53');
    assert.equal(lease.mtu, '1400');
    assert.match(lease.staticroutes ?? '', /192\.168\.77\.0\/24 10\.20\.0\.254/);
    assert.match(lease.staticroutes ?? '', /0\.0\.0\.0\/0 10\.20\.0\.1/);
    assert.equal((await lab.dhcp(g2))?.ip, '10.20.0.12');
    assert.equal((await lab.dhcp(g3))?.ip, '10.30.0.13');
  });

  it('serves no address to a MAC that is not a port of this host', async () => {
    await sh(['ip', '-n', g2, 'link', 'set', 'eth0', 'address', 'fa:16:3e:00:00:99']);
    try {
      await sh(['ip', '-n', g2, 'addr', 'flush', 'dev', 'eth0']);
      assert.equal(await lab.dhcp(g2), null);
    } finally {
      await sh(['ip', '-n', g2, 'link', 'set', 'eth0', 'address', g2Vif.mac_address]);
      await sh(['ip', '-n', g2, 'addr', 'flush', 'dev', 'eth0']);
      assert.equal((await lab.dhcp(g2))?.ip, '10.20.0.12');
    }
  });

  it('lets guests of one network reach each other as their security group allows', async () => {
    assert.ok(await lab.ping(g1, '10.20.0.12'));
    assert.ok(await lab.ping(g2, '10.20.0.11'));
  });

  it('filters traffic between guests of one bridge statefully', async () => {
    // Guest 1 now admits nothing inbound: guest 2 cannot reach it, but replies to its own pings pass.
    await driver.plug('vm-1', [g1Vif([rule('egress')])], {}, 'project');
    try {
      assert.equal(await lab.ping(g2, '10.20.0.11'), false, 'no ingress rule admits guest 2');
      assert.ok(await lab.ping(g1, '10.20.0.12'), 'the reply to an allowed flow comes back');
    } finally {
      await driver.plug('vm-1', [g1Vif()], {}, 'project');
    }
    assert.ok(await lab.ping(g2, '10.20.0.11'));
  });

  it("admits a remote group's members as the host's set of the group changes", async () => {
    // As a compute host records it: the rule names the group and carries no addresses of its own.
    const group = lab.id('sg');
    const byGroup = { ...rule('ingress'), remote_prefixes: [], remote_group_id: group };
    await driver.plug('vm-1', [g1Vif([rule('egress'), byGroup])], {}, 'project');
    try {
      await driver.groupMembers([{ id: group, ipv4: ['10.20.0.11/32'], ipv6: [] }]);
      assert.equal(await lab.ping(g2, '10.20.0.11'), false, 'guest 2 is not a member yet');
      await driver.groupMembers([{ id: group, ipv4: ['10.20.0.11/32', '10.20.0.12/32'], ipv6: [] }]);
      assert.ok(await lab.ping(g2, '10.20.0.11'), 'a member now');
    } finally {
      await driver.plug('vm-1', [g1Vif()], {}, 'project');
    }
  });

  it('masquerades outbound traffic through the host', async () => {
    assert.ok(await lab.ping(g2, '198.51.100.100'), 'a guest reaches the outside, which has no route back to it');
  });

  it('reaches a floating IP from outside only while an ingress rule allows it', async () => {
    assert.equal(await lab.ping(outside, '198.51.100.50'), false, 'default deny inbound');
    await driver.plug('vm-1', [g1Vif([...defaultRules, pingFromAnywhere])], {}, 'project');
    assert.ok(await lab.ping(outside, '198.51.100.50'), 'the ingress rule admits the outside');
    assert.ok(await lab.ping(host, '198.51.100.50'), 'the host itself reaches the floating IP');
  });

  it('keeps another project out of the network, except through the floating IP', async () => {
    assert.ok(await lab.ping(g3, '10.30.0.1'), 'guest 3 reaches its own gateway');
    assert.equal(await lab.ping(g3, '10.20.0.11'), false, 'no route between projects');
    assert.equal(await lab.ping(g3, '10.20.0.1'), false, "nor to the host's address on another project's network");
    assert.ok(await lab.ping(g3, '198.51.100.50'), 'the floating IP is reachable');
  });

  it("reaches a neighbour's floating IP from inside the network (hairpin)", async () => {
    // Guest 1's floating IP admits ICMP and TCP 8080 from anywhere. Guest 2, on the same bridge, goes
    // through the host's DNAT to guest 1, whose answer, sent straight back over the bridge, is translated
    // back by the bridge's connection tracking: guest 2 sees the floating address answer.
    const rules = [...defaultRules, pingFromAnywhere, rule('ingress', 'tcp', ['0.0.0.0/0'], [8080, 8080])];
    await driver.plug('vm-1', [g1Vif(rules)], {}, 'project');
    assert.ok(await lab.ping(g2, '198.51.100.50'), "the neighbour reaches guest 1's floating IP");
    try {
      const got = await withPeerEcho(g1, () => tcpAnswer(g2, '198.51.100.50:8080'));
      assert.equal(got, 'hairpin-10.20.0.12', 'a TCP connection to the floating IP, answered through it');
    } finally {
      await driver.plug('vm-1', [g1Vif([...defaultRules, pingFromAnywhere])], {}, 'project');
    }
  });

  it('reaches its own floating IP from the guest that holds it (hairpin)', async () => {
    // Guest 1 to its own floating IP: the host's DNAT sends the packet back out of the port it came in on
    // (the tap's hairpin mode), from the floating address (SNAT): a guest takes a packet from its own
    // address for a spoof and drops it.
    const rules = [...defaultRules, pingFromAnywhere, rule('ingress', 'tcp', ['0.0.0.0/0'], [8080, 8080])];
    await driver.plug('vm-1', [g1Vif(rules)], {}, 'project');
    assert.ok(await lab.ping(g1, '198.51.100.50'), 'guest 1 reaches its own floating IP');
    try {
      const got = await withPeerEcho(g1, () => tcpAnswer(g1, '198.51.100.50:8080'));
      assert.equal(got, 'hairpin-198.51.100.50', 'its own connection, seen coming from its floating IP');
      // Its own broadcasts do not come back to it through the hairpin: an ARP request it sends is not
      // heard back (IPv6 duplicate address detection would fail on its own echo).
      assert.equal(await hearsOwnBroadcast(g1), false, 'guest 1 hears its own broadcast');
    } finally {
      await driver.plug('vm-1', [g1Vif([...defaultRules, pingFromAnywhere])], {}, 'project');
    }
  });

  it('drops what a guest sends from a MAC or an address that is not its own', async () => {
    assert.ok(await lab.ping(g2, '10.20.0.11'));
    await sh(['ip', '-n', g2, 'addr', 'add', '10.20.0.99/24', 'dev', 'eth0']);
    assert.equal(await lab.ping(g2, '10.20.0.11', '10.20.0.99'), false, 'spoofed source address');
    await sh(['ip', '-n', g2, 'addr', 'del', '10.20.0.99/24', 'dev', 'eth0']);
    await sh(['ip', '-n', g2, 'link', 'set', 'eth0', 'address', 'fa:16:3e:00:00:98']);
    try {
      assert.equal(await lab.ping(g2, '10.20.0.11'), false, 'spoofed source MAC');
    } finally {
      await sh(['ip', '-n', g2, 'link', 'set', 'eth0', 'address', g2Vif.mac_address]);
    }
    assert.ok(await lab.ping(g2, '10.20.0.11'));
  });

  it('skips anti-spoofing and security groups when port security is off', async () => {
    await driver.plug(
      'vm-2',
      [{ ...g2Vif, port_security_enabled: false, security_group_rules: [] }],
      g2Specs,
      'project',
    );
    await sh(['ip', '-n', g2, 'addr', 'add', '10.20.0.99/24', 'dev', 'eth0']);
    try {
      assert.ok(await lab.ping(g2, '10.20.0.11', '10.20.0.99'));
    } finally {
      await sh(['ip', '-n', g2, 'addr', 'del', '10.20.0.99/24', 'dev', 'eth0']);
      await driver.plug('vm-2', [g2Vif], g2Specs, 'project');
    }
  });

  it("limits a port's bandwidth with tc from the flavor's quota:vif_* specs", async () => {
    const qdiscs = await sh(['ip', 'netns', 'exec', host, 'tc', 'qdisc', 'show', 'dev', g2Vif.devname]);
    assert.match(qdiscs, /qdisc htb 1: root/);
    const klass = await sh(['ip', 'netns', 'exec', host, 'tc', 'class', 'show', 'dev', g2Vif.devname]);
    assert.match(klass, /rate 8Mbit/); // 1000 KB/s
    const rules = await sh(['ip', 'netns', 'exec', host, 'nft', 'list', 'table', 'bridge', 'stratus']);
    assert.match(rules, new RegExp(`iifname "${g2Vif.devname}" limit rate over 500 kbytes/second`));
    const unlimited = await sh(['ip', 'netns', 'exec', host, 'tc', 'qdisc', 'show', 'dev', g1Vif().devname]);
    assert.doesNotMatch(unlimited, /htb|ingress/);
  });

  it('cuts the floating IP off again when the rule goes', async () => {
    await driver.plug('vm-1', [g1Vif()], {}, 'project');
    assert.equal(await lab.ping(outside, '198.51.100.50'), false);
  });

  it('rebuilds missing state and drops unwanted ports after a restart', async () => {
    // The compute host "restarts": a bridge is gone (its dnsmasq listens on nothing), guest 3 was deleted
    // meanwhile.
    const pidBefore = await dnsmasqPid(net1.id);
    await sh(['ip', '-n', host, 'link', 'del', net1.bridge]);
    assert.equal(await lab.ping(g1, '10.20.0.12'), false);
    driver = newDriver();
    await driver.reconcile([
      { instanceUuid: 'vm-1', projectId: 'project', vifs: [g1Vif()], extraSpecs: {} },
      { instanceUuid: 'vm-2', projectId: 'project', vifs: [g2Vif], extraSpecs: g2Specs },
    ]);
    assert.ok(await lab.ping(g1, '10.20.0.12'));
    await sh(['ip', '-n', g2, 'addr', 'flush', 'dev', 'eth0']);
    assert.equal((await lab.dhcp(g2))?.ip, '10.20.0.12', 'dnsmasq serves again');
    assert.notEqual(await dnsmasqPid(net1.id), pidBefore, 'dnsmasq was restarted on the new bridge');
    assert.equal(
      await succeeds(['ip', '-n', host, 'link', 'show', 'dev', net2.bridge]),
      false,
      "guest 3's bridge is gone",
    );
    const tap3 = await sh(['ip', '-n', host, '-o', 'link', 'show', 'dev', g3Vif.devname]);
    assert.doesNotMatch(tap3, /master/, "guest 3's tap left its bridge");
    assert.equal((await NetworkLab.processesMentioning(join(stateDirectory, 'dhcp', net2.id))).length, 0);
  });

  it('creates a missing tap for qemu to open and deletes it when the port goes', async () => {
    const port = vif({ id: lab.id('p4'), mac: 'fa:16:3e:00:00:14', network: net1, ip: '10.20.0.14' });
    await driver.plug('vm-4', [port], {}, 'project');
    const tap = await sh(['ip', '-n', host, '-d', '-o', 'link', 'show', 'dev', port.devname]);
    assert.match(tap, new RegExp(`master ${net1.bridge}`));
    assert.match(tap, /tun type tap/);
    await driver.unplug('vm-4', [port]);
    assert.equal(await succeeds(['ip', '-n', host, 'link', 'show', 'dev', port.devname]), false);
    assert.ok(await lab.ping(g1, '10.20.0.12'), 'the other ports are untouched');
  });

  it('starts a dnsmasq that died again on reconcile', async () => {
    process.kill(await dnsmasqPid(net1.id), 'SIGKILL');
    await driver.reconcile([
      { instanceUuid: 'vm-1', projectId: 'project', vifs: [g1Vif()], extraSpecs: {} },
      { instanceUuid: 'vm-2', projectId: 'project', vifs: [g2Vif], extraSpecs: g2Specs },
    ]);
    await sh(['ip', '-n', g1, 'addr', 'flush', 'dev', 'eth0']);
    assert.equal((await lab.dhcp(g1))?.ip, '10.20.0.11');
  });

  it('leaves nothing behind when the last port goes', async () => {
    const before = await sh(['ip', '-n', host, '-o', 'link', 'show', 'type', 'bridge']);
    assert.match(before, /brq/);
    await driver.unplug('vm-1', [g1Vif()]);
    await driver.unplug('vm-2', [g2Vif]);
    assert.equal((await sh(['ip', '-n', host, '-o', 'link', 'show', 'type', 'bridge'])).trim(), '');
    assert.doesNotMatch(await sh(['ip', 'netns', 'exec', host, 'nft', 'list', 'tables']), /stratus/);
    assert.equal((await NetworkLab.processesMentioning(stateDirectory)).length, 0, 'no dnsmasq left');
    assert.doesNotMatch(await sh(['ip', '-n', host, '-o', 'addr', 'show']), /198\.51\.100\.|10\.20\.0\.1/);
    assert.doesNotMatch(await sh(['ip', '-n', host, '-o', 'link', 'show', 'dev', 'ext0']), /master/);
    assert.equal(await lab.ping(g1, '10.20.0.12'), false);
  });
});

/**
 * Runs a TCP server on port 8080 in `ns` that answers `hairpin-<peer address>` while `connect` is tried
 * (a few times: the first may race the listener's start); what `connect` last got.
 */
async function withPeerEcho(ns: string, connect: () => Promise<string>): Promise<string> {
  // `ip netns exec` execs socat: the child is the listener itself, killed below.
  const listener = spawn('ip', [
    ...['netns', 'exec', ns, 'socat', 'TCP-LISTEN:8080,reuseaddr,fork'],
    'SYSTEM:echo hairpin-$SOCAT_PEERADDR',
  ]);
  const exited = new Promise((resolve) => listener.once('exit', resolve));
  try {
    let got = '';
    for (let i = 0; i < 20 && !got.startsWith('hairpin'); i++) {
      got = await connect();
      if (!got.startsWith('hairpin')) await new Promise((r) => setTimeout(r, 100));
    }
    return got;
  } finally {
    listener.kill();
    await exited;
  }
}

/** What a TCP server at `target` says to a connection from namespace `ns`, or why none answered. */
async function tcpAnswer(ns: string, target: string): Promise<string> {
  const argv = ['ip', 'netns', 'exec', ns, 'socat', '-T', '2', '-', `TCP:${target},connect-timeout=2`];
  return (await sh(argv).catch((err: Error) => `failed: ${err.message}`)).trim();
}

/**
 * Whether a frame the guest broadcasts comes back to it: a counter on its eth0's ingress of frames from
 * its own MAC, read after it sends broadcast ARP requests for an address nobody holds.
 */
async function hearsOwnBroadcast(ns: string): Promise<boolean> {
  const mac = /link\/ether (\S+)/.exec(await sh(['ip', '-n', ns, 'link', 'show', 'dev', 'eth0']))![1]!;
  const nft = (script: string) => sh(['ip', 'netns', 'exec', ns, 'nft', script]);
  await nft('add table netdev echo');
  try {
    await nft('add chain netdev echo in { type filter hook ingress device eth0 priority 0; }');
    await nft(`add rule netdev echo in ether saddr ${mac} counter`);
    await succeeds(['ip', 'netns', 'exec', ns, 'busybox', 'arping', '-c', '3', '-w', '2', '-I', 'eth0', '192.0.2.77']);
    const counted = /counter packets (\d+)/.exec(await nft('list chain netdev echo in'));
    return Number(counted?.[1] ?? 0) > 0;
  } finally {
    await nft('delete table netdev echo');
  }
}

/**
 * The Linux bridge network driver: every change (plug, unplug, reconcile) updates the set of ports this
 * host wants and then brings the whole host to the plan of that set (host-plan.ts). Converging on the
 * whole plan, rather than applying each change as a delta, is what makes a restart safe: reconcile is the
 * same operation with the complete list of ports, and whatever a crash left half done is finished or
 * removed by the next change. Changes are serialized; each one is a few iproute2 calls per device, one
 * `nft -f` for the firewall and NAT, and a SIGHUP per dnsmasq whose entries changed.
 */
import { join } from 'node:path';
import { getLogger } from '../../../common/log/logger.ts';
import type { GroupMembers } from '../../../wire/contracts/compute.ts';
import type { Vif } from '../../../wire/messages/network-info.ts';
import { HostCommands } from '../host-commands.ts';
import type { GuestPorts, NetworkDriver } from '../network-driver.ts';
import { dhcpFiles, ensureDnsmasq, removeDnsmasq, servesDhcp, stopDnsmasq } from './dnsmasq.ts';
import { planHost, type HostPlan } from './host-plan.ts';
import { addAddress, ensureBridge, ensureTap, ensureUplink, releaseLink, removeAddress } from './host-links.ts';
import {
  ensureMetadataProxy,
  metadataFiles,
  removeMetadataProxy,
  type MetadataOptions,
  type MetadataRedirect,
} from './metadata.ts';
import { renderRuleset } from './nft-ruleset.ts';
import { loadOwned, saveOwned, type OwnedObjects } from './owned-objects.ts';
import { applyTcQos, clearTcQos } from './tc-qos.ts';

const log = getLogger('compute.network');

export interface LinuxBridgeOptions {
  /** physical network -> host interface (`[linux_bridge] physical_interface_mappings`). */
  physicalMappings: ReadonlyMap<string, string>;
  /** Network namespace of the datapath; null: the host's own. */
  namespace: string | null;
  stateDirectory: string;
  dhcpLeaseSeconds: number;
  /** Where the metadata proxy forwards guests' requests to 169.254.169.254; null: no metadata proxy. */
  metadata: MetadataOptions | null;
}

interface WantedPort {
  vif: Vif;
  extraSpecs: Readonly<Record<string, string>>;
  projectId: string;
}

export class LinuxBridgeDriver implements NetworkDriver {
  private readonly host: HostCommands;
  /** instance uuid -> port id -> the port as last plugged. */
  private wanted = new Map<string, Map<string, WantedPort>>();
  /** tap -> the tc limits last applied (JSON), so unchanged limits are not reset on every change. */
  private readonly appliedQos = new Map<string, string>();
  /** The remote groups' member sets: rules naming a group are expanded to its set when the plan is made. */
  private readonly members = new Map<string, GroupMembers>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LinuxBridgeOptions) {
    this.host = new HostCommands(options.namespace);
  }

  plug(
    instanceUuid: string,
    vifs: readonly Vif[],
    extraSpecs: Readonly<Record<string, string>>,
    projectId: string,
  ): Promise<void> {
    return this.change((wanted) => {
      const ports = new Map(wanted.get(instanceUuid));
      for (const vif of vifs) ports.set(vif.id, { vif, extraSpecs, projectId });
      wanted.set(instanceUuid, ports);
    });
  }

  unplug(instanceUuid: string, vifs: readonly Vif[]): Promise<void> {
    return this.change((wanted) => {
      const ports = new Map(wanted.get(instanceUuid));
      for (const vif of vifs) ports.delete(vif.id);
      if (ports.size === 0) wanted.delete(instanceUuid);
      else wanted.set(instanceUuid, ports);
    });
  }

  reconcile(guests: readonly GuestPorts[]): Promise<void> {
    return this.change((wanted) => {
      wanted.clear();
      for (const guest of guests) {
        if (guest.vifs.length === 0) continue;
        wanted.set(
          guest.instanceUuid,
          new Map(guest.vifs.map((vif) => [vif.id, { vif, extraSpecs: guest.extraSpecs, projectId: guest.projectId }])),
        );
      }
      // A new process knows nothing of the limits already on the taps: apply them all again.
      this.appliedQos.clear();
    });
  }

  /**
   * The sets change at once; the host is brought to them only if a port here names one of the groups
   * (one convergence, one `nft -f`, however many guests watch them).
   */
  groupMembers(groups: readonly GroupMembers[]): Promise<void> {
    for (const group of groups) this.members.set(group.id, group);
    const ids = new Set(groups.map((g) => g.id));
    const named = [...this.wanted.values()].some((ports) =>
      [...ports.values()].some((p) => p.vif.security_group_rules.some((r) => ids.has(r.remote_group_id ?? ''))),
    );
    return named ? this.change(() => undefined) : Promise.resolve();
  }

  /** The network namespace its devices live in (null: the host's own); qemu must run there to open a tap. */
  get namespace(): string | null {
    return this.options.namespace;
  }

  /**
   * Applies `edit` to a copy of the wanted ports and converges on it. A set of ports that cannot be
   * planned (an unmapped physical network, say) is refused before anything changes on the host.
   */
  private change(edit: (wanted: Map<string, Map<string, WantedPort>>) => void): Promise<void> {
    const run = async () => {
      const next = new Map(this.wanted);
      edit(next);
      const plan = planHost(this.guests(next), this.options.physicalMappings, this.members);
      this.wanted = next;
      await this.converge(plan);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private guests(wanted: Map<string, Map<string, WantedPort>>): GuestPorts[] {
    return [...wanted].map(([instanceUuid, ports]) => ({
      instanceUuid,
      projectId: [...ports.values()][0]?.projectId ?? '',
      vifs: [...ports.values()].map((p) => p.vif),
      extraSpecs: [...ports.values()][0]?.extraSpecs ?? {},
    }));
  }

  private get ownedPath(): string {
    return join(this.options.stateDirectory, 'owned-objects.json');
  }

  private async converge(plan: HostPlan): Promise<void> {
    await this.host.ensureNamespace();
    await this.enableForwarding();
    const owned = await loadOwned(this.ownedPath);
    try {
      await this.removeStale(plan, owned);
      const newBridges = await this.ensureLinks(plan, owned);
      const redirects = await this.ensureMetadata(plan);
      await this.host.run(['nft', '-f', '-'], renderRuleset(plan, redirects));
      await this.ensureDhcp(plan, owned, newBridges);
    } finally {
      await saveOwned(this.ownedPath, owned);
    }
  }

  /**
   * Routing between networks and to the outside, and br_netfilter so that bridged IP traffic passes the
   * conntrack-based security group rules (see nft-ruleset.ts).
   */
  private async enableForwarding(): Promise<void> {
    // Where br_netfilter is a module it must be loaded before its sysctls exist (modules are global, so
    // this runs outside the namespace); a kernel with it built in has nothing to load.
    if (!(await this.host.attempt(['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']))) {
      await new HostCommands(null).attempt(['modprobe', 'br_netfilter']);
    }
    await this.host.run([
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.bridge.bridge-nf-call-iptables=1',
      'net.bridge.bridge-nf-call-ip6tables=1',
    ]);
  }

  private async removeStale(plan: HostPlan, owned: OwnedObjects): Promise<void> {
    const dhcpWanted = new Set(plan.networks.filter(servesDhcp).map((n) => n.id));
    for (const networkId of owned.dhcpNetworks.filter((id) => !dhcpWanted.has(id))) {
      await removeDnsmasq(dhcpFiles(this.options.stateDirectory, networkId));
    }
    owned.dhcpNetworks = owned.dhcpNetworks.filter((id) => dhcpWanted.has(id));

    const tapsWanted = new Map(plan.ports.map((p) => [p.tap, p.bridge]));
    for (const tap of owned.taps.filter((t) => !tapsWanted.has(t.name))) {
      await clearTcQos(this.host, tap.name);
      await releaseLink(this.host, tap.name, tap.created);
      this.appliedQos.delete(tap.name);
    }
    owned.taps = owned.taps.filter((t) => tapsWanted.has(t.name));

    const addressesWanted = new Set(plan.networks.flatMap((n) => n.addresses.map((a) => `${n.bridge} ${a}`)));
    for (const a of owned.addresses.filter((a) => !addressesWanted.has(`${a.device} ${a.address}`))) {
      await removeAddress(this.host, a.device, a.address);
    }
    owned.addresses = owned.addresses.filter((a) => addressesWanted.has(`${a.device} ${a.address}`));

    const bridgesWanted = new Map(plan.networks.map((n) => [n.bridge, n.uplink?.device ?? null]));
    for (const bridge of owned.bridges) {
      const stillWanted = bridgesWanted.has(bridge.name);
      const uplinkChanged = bridgesWanted.get(bridge.name) !== bridge.uplink;
      if (bridge.uplink !== null && (!stillWanted || uplinkChanged)) {
        await releaseLink(this.host, bridge.uplink, bridge.uplinkCreated);
      }
      if (!stillWanted) await releaseLink(this.host, bridge.name, true);
    }
    owned.bridges = owned.bridges.filter((b) => bridgesWanted.has(b.name) && bridgesWanted.get(b.name) === b.uplink);
  }

  /** Makes bridges, uplinks, addresses and taps; returns the bridges that had to be created. */
  private async ensureLinks(plan: HostPlan, owned: OwnedObjects): Promise<Set<string>> {
    const newBridges = new Set<string>();
    for (const network of plan.networks) {
      if (await ensureBridge(this.host, network.bridge)) newBridges.add(network.bridge);
      let record = owned.bridges.find((b) => b.name === network.bridge);
      if (!record) {
        record = { name: network.bridge, uplink: null, uplinkCreated: false };
        owned.bridges.push(record);
      }
      if (network.uplink) {
        const created = await ensureUplink(this.host, network.bridge, network.uplink);
        record.uplinkCreated ||= created;
        record.uplink = network.uplink.device;
      }
      for (const address of network.addresses) {
        await addAddress(this.host, network.bridge, address);
        if (!owned.addresses.some((a) => a.device === network.bridge && a.address === address)) {
          owned.addresses.push({ device: network.bridge, address });
        }
      }
    }
    const mtus = new Map(plan.networks.map((n) => [n.bridge, n.mtu]));
    for (const port of plan.ports) {
      const created = await ensureTap(this.host, port.tap, port.bridge, mtus.get(port.bridge) ?? 1500);
      if (!owned.taps.some((t) => t.name === port.tap)) owned.taps.push({ name: port.tap, created });
      const qos = JSON.stringify(port.qos);
      if (created || this.appliedQos.get(port.tap) !== qos) {
        await applyTcQos(this.host, port.tap, port.qos);
        this.appliedQos.set(port.tap, qos);
      }
    }
    return newBridges;
  }

  /**
   * The metadata proxy serves this host's guests, or is stopped when it has none (or none is configured).
   * A proxy that cannot start or take its table leaves guests without metadata, never without a network:
   * the rest of the datapath still converges, and the next change tries again.
   */
  private async ensureMetadata(plan: HostPlan): Promise<MetadataRedirect[]> {
    const files = metadataFiles(this.options.stateDirectory);
    if (this.options.metadata === null) {
      await removeMetadataProxy(files);
      return [];
    }
    try {
      return await ensureMetadataProxy(this.host, files, plan, this.options.metadata);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'guests of this host get no metadata: the proxy failed');
      return [];
    }
  }

  /**
   * A dnsmasq bound to a bridge that was deleted and made again listens on a device that no longer
   * exists: it is restarted on the new one.
   */
  private async ensureDhcp(plan: HostPlan, owned: OwnedObjects, newBridges: ReadonlySet<string>): Promise<void> {
    for (const network of plan.networks.filter(servesDhcp)) {
      const files = dhcpFiles(this.options.stateDirectory, network.id);
      if (newBridges.has(network.bridge)) await stopDnsmasq(files);
      if (!owned.dhcpNetworks.includes(network.id)) owned.dhcpNetworks.push(network.id);
      await ensureDnsmasq(this.host, network, files, this.options.dhcpLeaseSeconds);
    }
  }
}

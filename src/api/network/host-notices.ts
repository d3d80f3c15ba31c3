/**
 * Where the network API tells compute hosts that guests' ports changed, as Neutron's server notifies
 * its agents: each request that changes what a host enforces (a group's rules, a port's groups,
 * addresses or port security, a floating IP mapping) ends by casting network_info_changed to the host
 * of every server it reaches. The casts never fail the request: a host that misses one relearns its
 * guests' interfaces when its compute service next starts.
 */
import type { RequestContext } from '../../common/context.ts';
import { notifyPortsChanged, notifyServersChanged, serversOfPorts } from '../../network/network-info-changed.ts';
import { groupsOfPorts, portsOfGroups } from '../../network/port-change-scope.ts';
import { memberNotices } from '../../network/member-notices.ts';
import { getLogger } from '../../common/log/logger.ts';
import { buildNetworkInfo, remoteGroupsFor } from '../../network/network-info.ts';
import { instancePayload } from '../../objects/instance-payload.ts';
import { forgetNics } from '../../objects/instance-networks.ts';
import { findInstance } from '../../objects/instances.ts';
import type { NetworkApiDeps } from './deps.ts';

const log = getLogger('api.network.notices');

/** The port attributes whose change alters what the port's host (or a watching port's host) enforces. */
const ENFORCED_PORT_ATTRIBUTES = ['security_groups', 'port_security_enabled', 'fixed_ips', 'allowed_address_pairs'];

export function touchesEnforcedAttributes(changes: Record<string, unknown>): boolean {
  return ENFORCED_PORT_ATTRIBUTES.some((key) => changes[key] !== undefined);
}

export class HostNotices {
  constructor(private readonly deps: Pick<NetworkApiDeps, 'database' | 'compute'>) {}

  private get db() {
    return this.deps.database.db;
  }

  /** A rule was added to or removed from the group: every port bound to it gets the new rule set. */
  async groupRulesChanged(ctx: RequestContext, groupId: string): Promise<void> {
    await this.ports(ctx, () => portsOfGroups(this.db, [groupId]));
  }

  /** Read before a port update: the groups the port leaves matter to those watching them. */
  async groupsBefore(portId: string): Promise<string[]> {
    return this.guarded(() => groupsOfPorts(this.db, [portId]), []);
  }

  /** A port was made: the groups it joined have a new member (member-notices.ts). */
  async portCreated(ctx: RequestContext, portId: string): Promise<void> {
    await this.members().portsChanged(ctx, [portId]);
  }

  /**
   * A port's groups, addresses or port security changed: its own server's host, and the hosts of the
   * ports whose rules name a group it was or is in (they learn the groups' members).
   */
  async portChanged(ctx: RequestContext, portId: string, formerGroups: readonly string[]): Promise<void> {
    await this.ports(ctx, async () => [portId]);
    const groups = await this.guarded(() => groupsOfPorts(this.db, [portId]), []);
    await this.members().groupsChanged(ctx, [...new Set([...formerGroups, ...groups])]);
  }

  /**
   * Run before a port is deleted: returns what to call once it is gone, telling its server's host and
   * the hosts of ports watching its groups (they lose its addresses).
   */
  async beforePortDelete(ctx: RequestContext, portId: string): Promise<() => Promise<void>> {
    const groups = await this.guarded(() => groupsOfPorts(this.db, [portId]), []);
    const servers = await this.guarded(() => serversOfPorts(this.db, [portId]), []);
    const interfaceGone = await this.guarded(
      () => this.beforeInterfaceDelete(ctx, portId),
      async () => {},
    );
    return async () => {
      await interfaceGone();
      await notifyServersChanged(this.db, this.deps.compute, ctx, servers);
      await this.members().groupsChanged(ctx, groups);
    };
  }

  private members() {
    return memberNotices(this.db, this.deps.compute);
  }

  /**
   * A server's port deleted through the network API (Neutron's network-vif-deleted event to Nova): the
   * server forgets the NIC and its host detaches it from the guest and unplugs it, so that the guest
   * keeps no interface, and the datapath no rules, for an address that may now go to another port.
   * The host's answer is not waited for, as Nova handles the event after Neutron has answered: a
   * guest slow to let go of its NIC must not hold the request. A host that misses the call (its service
   * down) keeps the NIC until the guest is deleted, moved or offloaded: its record of the guest's ports
   * is its own (compute/guest-networking.ts), and the datapath then has rules for an address no port holds.
   */
  private async beforeInterfaceDelete(ctx: RequestContext, portId: string): Promise<() => Promise<void>> {
    const [server] = await serversOfPorts(this.db, [portId]);
    const instance = server === undefined ? undefined : await findInstance(this.db, server);
    if (!instance) return async () => {};
    const [vif] = await buildNetworkInfo(this.db, [portId], {
      remoteGroups: await remoteGroupsFor(this.deps.compute),
    });
    return async () => {
      await forgetNics(this.db, instance.uuid, portId);
      if (!instance.host || !vif) return;
      this.deps.compute
        .detachInterface(ctx, instance.host, instancePayload(instance), vif)
        .catch((err: Error) =>
          log.warn(
            { instance: instance.uuid, port: portId, err: err.message },
            'the host did not confirm detaching a deleted port',
          ),
        );
    };
  }

  /** Floating IP mappings changed on these fixed ports (the ones it left and the one it now maps to). */
  async floatingIpMoved(ctx: RequestContext, portIds: readonly (string | null)[]): Promise<void> {
    const ports = portIds.filter((p): p is string => p !== null);
    await notifyPortsChanged(this.db, this.deps.compute, ctx, [...new Set(ports)]);
  }

  private async ports(ctx: RequestContext, affected: () => Promise<string[]>): Promise<void> {
    const ports = await this.guarded(affected, []);
    await notifyPortsChanged(this.db, this.deps.compute, ctx, ports);
  }

  /** Looking up whom to tell must not fail a request whose change is already made. */
  private async guarded<T>(lookup: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await lookup();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not find the hosts to tell of changed ports');
      return fallback;
    }
  }
}

/**
 * Builds the NetworkInfo a compute host receives for a guest's ports (wire/messages/network-info.ts):
 * everything the datapath needs resolved here, since compute hosts have no database: the networks with
 * their subnets, the ports' addresses and floating IPs, and their security group rules, a rule naming a
 * remote group either expanded to the member ports' addresses or, for hosts that keep each group's
 * members themselves (compute 1.14), naming the group alone (security-group-port-rules.ts). This is the
 * one builder of a port's wire view: the conductor, the interface API and change casts all use it, each
 * asking `remoteGroupsFor` its compute client how to send the rules.
 */
import type { Db } from '../common/db/database.ts';
import type {
  FloatingIpsTable,
  IpAllocationsTable,
  NetworksTable,
  PortsTable,
  SecurityGroupPortBindingsTable,
  SubnetsTable,
} from '../common/db/schema.ts';
import type { AddedPort } from './ports.ts';
import { bridgeName, tapName, VifShape, type NetworkInfo, type VifNetwork } from '../wire/messages/network-info.ts';
import type { ComputeRpcApi } from '../wire/contracts/compute.ts';
import { rulesOfGroups, type RemoteGroupRules } from './security-group-port-rules.ts';

export type { RemoteGroupRules } from './security-group-port-rules.ts';

/**
 * How a NetworkInfo sent to hosts through `compute` carries rules naming a remote group: by the group's
 * id if the hosts read Vif 1.2 (compute 1.14: each keeps the group's members), else expanded (an older
 * host reads the addresses from the message only).
 */
export async function remoteGroupsFor(compute: Pick<ComputeRpcApi, 'followsRemoteGroups'>): Promise<RemoteGroupRules> {
  return (await compute.followsRemoteGroups()) ? 'named' : 'expanded';
}

/**
 * The VIFs of the ports, in the order given (the guest's NIC order); ports that are gone are skipped.
 * `securityRules: false` leaves the rules out (empty): the metadata service shows a guest its addresses,
 * and expanding remote groups to every member's address is most of the cost of a read. `remoteGroups`
 * (default `expanded`): how rules naming a remote group leave, for a NetworkInfo sent to hosts
 * (`remoteGroupsFor`).
 */
export async function buildNetworkInfo(
  db: Db,
  portIds: readonly string[],
  options: NetworkInfoOptions = {},
): Promise<NetworkInfo> {
  if (!portIds.length) return [];
  const ids = [...portIds];
  const [ports, allocations, floating, groupBindings] = await Promise.all([
    db.selectFrom('ports').selectAll().where('id', 'in', ids).execute(),
    db.selectFrom('ip_allocations').selectAll().where('port_id', 'in', ids).execute(),
    db
      .selectFrom('floating_ips')
      .selectAll()
      .where('fixed_port_id', 'in', ids)
      .orderBy('floating_ip_address')
      .execute(),
    db.selectFrom('security_group_port_bindings').selectAll().where('port_id', 'in', ids).execute(),
  ]);
  const networkIds = [...new Set([...ports.map((p) => p.network_id), ...floating.map((f) => f.floating_network_id)])];
  const [networks, subnets] = networkIds.length
    ? await Promise.all([
        db.selectFrom('networks').selectAll().where('id', 'in', networkIds).execute(),
        db.selectFrom('subnets').selectAll().where('network_id', 'in', networkIds).orderBy('created_at').execute(),
      ])
    : [[], []];
  return assemble(db, ids, { ports, allocations, floating, groupBindings, networks, subnets }, options);
}

/**
 * The VIFs of ports just made (ports.ts addPort), in the order given, from what their create wrote and
 * read: a new port has no floating IP yet, and its network and subnets came with it, so only what the
 * create did not touch (the subnets' DNS servers and routes, the groups' rules) is read. This is most of
 * what a server on a network costs its build beyond a plain one.
 */
export async function networkInfoOfAddedPorts(
  db: Db,
  added: readonly AddedPort[],
  options: NetworkInfoOptions = {},
): Promise<NetworkInfo> {
  if (!added.length) return [];
  const networks = new Map(added.map((a) => [a.network.id, a.network]));
  const subnets = new Map(added.flatMap((a) => a.subnets.map((s) => [s.id, s] as const)));
  return assemble(
    db,
    added.map((a) => a.row.id),
    {
      ports: added.map((a) => a.row),
      allocations: added.flatMap((a) => a.fixedIps.map((ip) => ({ port_id: a.row.id, ...ip }))),
      floating: [],
      groupBindings: added.flatMap((a) =>
        a.securityGroups.map((security_group_id) => ({ port_id: a.row.id, security_group_id })),
      ),
      networks: [...networks.values()],
      subnets: [...subnets.values()],
    },
    options,
  );
}

export interface NetworkInfoOptions {
  securityRules?: boolean;
  remoteGroups?: RemoteGroupRules;
}

/** The rows a NetworkInfo is made from, read or just written. */
interface PortRows {
  ports: readonly PortsTable[];
  allocations: readonly Pick<IpAllocationsTable, 'port_id' | 'subnet_id' | 'ip_address'>[];
  /** In floating_ip_address order. */
  floating: readonly FloatingIpsTable[];
  groupBindings: readonly SecurityGroupPortBindingsTable[];
  /** The ports' networks and the floating IPs' networks. */
  networks: readonly NetworksTable[];
  /** Those networks' subnets, in creation order. */
  subnets: readonly SubnetsTable[];
}

async function assemble(
  db: Db,
  ids: readonly string[],
  rows: PortRows,
  options: NetworkInfoOptions,
): Promise<NetworkInfo> {
  const { ports, allocations, floating, groupBindings } = rows;
  const [networks, rules] = await Promise.all([
    describeNetworks(db, rows.networks, rows.subnets),
    options.securityRules === false
      ? []
      : rulesOfGroups(db, [...new Set(groupBindings.map((b) => b.security_group_id))], options.remoteGroups),
  ]);
  const vifs: NetworkInfo = [];
  for (const id of ids) {
    const port = ports.find((p) => p.id === id);
    const network = port && networks.get(port.network_id);
    if (!port || !network) continue;
    const groups = new Set(groupBindings.filter((b) => b.port_id === id).map((b) => b.security_group_id));
    vifs.push(
      VifShape.build({
        id,
        mac_address: port.mac_address,
        devname: tapName(id),
        network,
        fixed_ips: allocations
          .filter((a) => a.port_id === id)
          .map((a) => ({ subnet_id: a.subnet_id, ip_address: a.ip_address })),
        floating_ips: floating
          .filter((f) => f.fixed_port_id === id && f.fixed_ip_address !== null)
          .flatMap((f) => {
            const floatingNetwork = networks.get(f.floating_network_id);
            if (!floatingNetwork) return [];
            return [
              {
                id: f.id,
                floating_ip_address: f.floating_ip_address,
                fixed_ip_address: f.fixed_ip_address!,
                floating_network: floatingNetwork,
              },
            ];
          }),
        port_security_enabled: port.port_security_enabled === 1,
        security_group_rules: rules.filter((r) => groups.has(r.groupId)).map((r) => r.rule),
      }),
    );
  }
  return vifs;
}

/** The networks as a VIF carries them, their subnets with DNS servers and host routes (read here). */
async function describeNetworks(
  db: Db,
  networks: readonly NetworksTable[],
  subnets: readonly SubnetsTable[],
): Promise<Map<string, VifNetwork>> {
  const subnetIds = subnets.map((s) => s.id);
  const [dns, routes] = subnetIds.length
    ? await Promise.all([
        db
          .selectFrom('subnet_dns_nameservers')
          .selectAll()
          .where('subnet_id', 'in', subnetIds)
          .orderBy('position')
          .execute(),
        db.selectFrom('subnet_host_routes').selectAll().where('subnet_id', 'in', subnetIds).execute(),
      ])
    : [[], []];
  return new Map(
    networks.map((n) => [
      n.id,
      {
        id: n.id,
        label: n.name,
        project_id: n.project_id,
        bridge: bridgeName(n.id),
        network_type: networkType(n),
        physical_network: n.physical_network,
        segmentation_id: n.segmentation_id,
        mtu: n.mtu,
        external: n.router_external === 1,
        subnets: subnets
          .filter((s) => s.network_id === n.id)
          .map((s) => ({
            id: s.id,
            cidr: s.cidr,
            ip_version: s.ip_version === 6 ? (6 as const) : (4 as const),
            gateway_ip: s.gateway_ip,
            dns_nameservers: dns.filter((d) => d.subnet_id === s.id).map((d) => d.address),
            host_routes: routes
              .filter((r) => r.subnet_id === s.id)
              .map((r) => ({ destination: r.destination, nexthop: r.nexthop })),
            enable_dhcp: s.enable_dhcp === 1,
          })),
      },
    ]),
  );
}

function networkType(network: Pick<NetworksTable, 'network_type'>): VifNetwork['network_type'] {
  return network.network_type === 'flat' || network.network_type === 'vlan' ? network.network_type : 'local';
}

/** The instance's ports in NIC order (instance_networks), then any other port bound to it. */
export async function instancePortIds(db: Db, uuid: string): Promise<string[]> {
  const [nics, bound] = await Promise.all([
    db
      .selectFrom('instance_networks')
      .select('port_id')
      .where('instance_uuid', '=', uuid)
      .where('port_id', 'is not', null)
      .orderBy('position')
      .execute(),
    db.selectFrom('ports').select('id').where('device_id', '=', uuid).orderBy('created_at').execute(),
  ]);
  const ids = nics.map((n) => n.port_id!);
  for (const port of bound) if (!ids.includes(port.id)) ids.push(port.id);
  return ids;
}

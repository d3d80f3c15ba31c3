/**
 * What the conductor asks of the network service for a server (Nova's network API, done in process):
 * allocate the server's ports (new ones on requested networks, or ports the user made beforehand),
 * bind them to the server's host, release them on delete, and describe them as the NetworkInfo a
 * compute host receives, with everything the host's datapath needs resolved here, where the database is.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';
import { declareError, StratusError } from '../common/errors.ts';
import {
  VifShape,
  bridgeName,
  tapName,
  type NetworkInfo,
  type VifNetwork,
  type VifSecurityRule,
} from '../wire/messages/network-info.ts';
import { portNotFound } from './errors.ts';
import { bindingFor } from './port-binding.ts';
import { createPort, getPort, removePortRows } from './ports.ts';
import { parseIp } from './ip.ts';
import { inTransaction } from './transaction.ts';

/** Nova's device_owner for a server's ports (`compute:<availability zone>`). */
export const COMPUTE_DEVICE_OWNER = 'compute:nova';

const PortInUse = declareError(
  class PortInUse extends StratusError {
    override readonly status = 409;
  },
);

/** One requested NIC: a network (optionally with an address), or an existing port. */
export type NicRequest = { networkId: string; fixedIp?: string } | { portId: string };

export interface AllocatedPort {
  portId: string;
  /** Made for the server (deleted with it) rather than given by the user (only detached). */
  created: boolean;
}

/**
 * The server's ports, in the order of `nics`, bound to `host`. On a failure the ports made so far are
 * deleted and the ones taken over released again, so nothing is left half-allocated.
 */
export async function allocateInstancePorts(
  db: Db,
  ctx: RequestContext,
  instance: { uuid: string; projectId: string; host: string },
  nics: NicRequest[],
): Promise<AllocatedPort[]> {
  const done: AllocatedPort[] = [];
  try {
    for (const nic of nics) {
      if ('portId' in nic) {
        await attachExistingPort(db, ctx, nic.portId, instance);
        done.push({ portId: nic.portId, created: false });
      } else {
        const port = await createPort(db, ctx, {
          project_id: instance.projectId,
          network_id: nic.networkId,
          device_id: instance.uuid,
          device_owner: COMPUTE_DEVICE_OWNER,
          binding_host_id: instance.host,
          ...(nic.fixedIp !== undefined ? { fixed_ips: [{ ip_address: nic.fixedIp }] } : {}),
        });
        done.push({ portId: port.id, created: true });
      }
    }
    return done;
  } catch (err) {
    await deallocateInstancePorts(db, done);
    throw err;
  }
}

async function attachExistingPort(
  db: Db,
  ctx: RequestContext,
  portId: string,
  instance: { uuid: string; host: string },
): Promise<void> {
  const port = await getPort(db, ctx, portId);
  if (port.device_id !== '' && port.device_id !== instance.uuid) {
    throw new PortInUse(
      `Unable to complete operation on port ${portId} for network ${port.network_id}. ` +
        `Port already has an attached device ${port.device_id}.`,
    );
  }
  await db
    .updateTable('ports')
    .set({
      device_id: instance.uuid,
      device_owner: COMPUTE_DEVICE_OWNER,
      ...bindingFor(instance.host, port['binding:vnic_type']),
      updated_at: now(),
    })
    .where('id', '=', portId)
    .execute();
}

/** Moves the server's ports to another host (a migration, an evacuation, a reschedule). */
export async function bindInstancePorts(db: Db, portIds: string[], host: string): Promise<void> {
  for (const id of portIds) {
    const row = await db.selectFrom('ports').select('binding_vnic_type').where('id', '=', id).executeTakeFirst();
    if (!row) throw portNotFound(id);
    await db
      .updateTable('ports')
      .set({ ...bindingFor(host, row.binding_vnic_type), updated_at: now() })
      .where('id', '=', id)
      .execute();
  }
}

/** Deletes the ports made for the server and releases the ones the user gave it. */
export async function deallocateInstancePorts(db: Db, ports: AllocatedPort[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await removePortRows(
      trx,
      ports.filter((p) => p.created).map((p) => p.portId),
    );
    const given = ports.filter((p) => !p.created).map((p) => p.portId);
    if (given.length > 0) {
      await trx
        .updateTable('ports')
        .set({ device_id: '', device_owner: '', ...bindingFor('', 'normal'), updated_at: now() })
        .where('id', 'in', given)
        .execute();
    }
  });
}

/** The NetworkInfo of `portIds`, in that order: what the compute host plugs in and filters. */
export async function buildNetworkInfo(db: Db, portIds: string[]): Promise<NetworkInfo> {
  const info: NetworkInfo = [];
  for (const id of portIds) {
    const port = await db.selectFrom('ports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!port) throw portNotFound(id);
    const network = await vifNetwork(db, port.network_id);
    const fixed = await db
      .selectFrom('ip_allocations')
      .select(['subnet_id', 'ip_address'])
      .where('port_id', '=', id)
      .execute();
    const floating = await db.selectFrom('floating_ips').selectAll().where('fixed_port_id', '=', id).execute();
    const floatingIps = [];
    for (const f of floating) {
      if (f.fixed_ip_address === null) continue;
      floatingIps.push({
        id: f.id,
        floating_ip_address: f.floating_ip_address,
        fixed_ip_address: f.fixed_ip_address,
        floating_network: await vifNetwork(db, f.floating_network_id),
      });
    }
    const secure = port.port_security_enabled === 1;
    info.push(
      VifShape.build({
        id,
        mac_address: port.mac_address,
        devname: tapName(id),
        network,
        fixed_ips: fixed,
        floating_ips: floatingIps,
        port_security_enabled: secure,
        security_group_rules: secure ? await portRules(db, id) : [],
      }),
    );
  }
  return info;
}

async function vifNetwork(db: Db, networkId: string): Promise<VifNetwork> {
  const net = await db.selectFrom('networks').selectAll().where('id', '=', networkId).executeTakeFirstOrThrow();
  const subnets = await db
    .selectFrom('subnets')
    .selectAll()
    .where('network_id', '=', networkId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const ids = subnets.map((s) => s.id);
  const [dns, routes] = ids.length
    ? await Promise.all([
        db.selectFrom('subnet_dns_nameservers').selectAll().where('subnet_id', 'in', ids).orderBy('position').execute(),
        db.selectFrom('subnet_host_routes').selectAll().where('subnet_id', 'in', ids).execute(),
      ])
    : [[], []];
  return {
    id: net.id,
    label: net.name,
    project_id: net.project_id,
    bridge: bridgeName(net.id),
    network_type: net.network_type as VifNetwork['network_type'],
    physical_network: net.physical_network,
    segmentation_id: net.segmentation_id,
    mtu: net.mtu,
    external: net.router_external === 1,
    subnets: subnets.map((s) => ({
      id: s.id,
      cidr: s.cidr,
      ip_version: s.ip_version as 4 | 6,
      gateway_ip: s.gateway_ip,
      dns_nameservers: dns.filter((d) => d.subnet_id === s.id).map((d) => d.address),
      host_routes: routes
        .filter((r) => r.subnet_id === s.id)
        .map((r) => ({ destination: r.destination, nexthop: r.nexthop })),
      enable_dhcp: s.enable_dhcp === 1,
    })),
  };
}

/**
 * The rules of the port's groups, with a remote group expanded to the addresses of its member ports
 * (host prefixes of the rule's family). Address groups have no table yet: such a rule admits no one.
 */
async function portRules(db: Db, portId: string): Promise<VifSecurityRule[]> {
  const rules = await db
    .selectFrom('security_group_rules')
    .innerJoin(
      'security_group_port_bindings',
      'security_group_port_bindings.security_group_id',
      'security_group_rules.security_group_id',
    )
    .selectAll('security_group_rules')
    .where('security_group_port_bindings.port_id', '=', portId)
    .execute();
  const members = new Map<string, string[]>();
  const membersOf = async (groupId: string) => {
    let found = members.get(groupId);
    if (!found) {
      const rows = await db
        .selectFrom('ip_allocations')
        .innerJoin('security_group_port_bindings', 'security_group_port_bindings.port_id', 'ip_allocations.port_id')
        .select('ip_allocations.ip_address')
        .where('security_group_port_bindings.security_group_id', '=', groupId)
        .execute();
      found = rows.map((r) => r.ip_address);
      members.set(groupId, found);
    }
    return found;
  };
  const out: VifSecurityRule[] = [];
  for (const r of rules) {
    const v = r.ethertype === 'IPv6' ? 6 : 4;
    let remote: string[] | null = null;
    if (r.remote_ip_prefix !== null) remote = [r.remote_ip_prefix];
    else if (r.remote_group_id !== null) {
      remote = (await membersOf(r.remote_group_id))
        .filter((ip) => parseIp(ip)?.version === v)
        .map((ip) => `${ip}/${v === 4 ? 32 : 128}`);
    } else if (r.remote_address_group_id !== null) remote = [];
    out.push({
      direction: r.direction as VifSecurityRule['direction'],
      ethertype: r.ethertype as VifSecurityRule['ethertype'],
      protocol: r.protocol,
      port_range_min: r.port_range_min,
      port_range_max: r.port_range_max,
      remote_prefixes: remote,
    });
  }
  return out;
}

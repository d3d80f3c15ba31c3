/**
 * Networks, subnets and ports written straight into the network service's tables, for tests of the
 * compute side (the network API has tests of its own).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/common/db/database.ts';
import { now } from '../../src/common/db/schema.ts';
import { createInstancePort } from '../../src/network/server-ports.ts';

export interface TestNetwork {
  id: string;
  subnetId: string;
  name: string;
}

/** A network with one IPv4 subnet whose pool is `.2` to `.<last>` of a /24. */
export async function createTestNetwork(
  db: Db,
  options: { projectId: string; name: string; prefix: string; shared?: boolean; external?: boolean; poolSize?: number },
): Promise<TestNetwork> {
  const id = randomUUID();
  const subnetId = randomUUID();
  const stamp = now();
  await db
    .insertInto('networks')
    .values({
      id,
      project_id: options.projectId,
      name: options.name,
      description: '',
      status: 'ACTIVE',
      admin_state_up: 1,
      shared: options.shared ? 1 : 0,
      router_external: options.external ? 1 : 0,
      network_type: 'local',
      physical_network: null,
      segmentation_id: null,
      segment_key: null,
      mtu: 1500,
      port_security_enabled: 1,
      revision_number: 1,
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  await db
    .insertInto('subnets')
    .values({
      id: subnetId,
      project_id: options.projectId,
      network_id: id,
      name: `${options.name}-subnet`,
      description: '',
      ip_version: 4,
      cidr: `${options.prefix}.0/24`,
      gateway_ip: `${options.prefix}.1`,
      enable_dhcp: 1,
      ipv6_ra_mode: null,
      ipv6_address_mode: null,
      revision_number: 1,
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  await db
    .insertInto('subnet_allocation_pools')
    .values({
      subnet_id: subnetId,
      first_ip: `${options.prefix}.2`,
      last_ip: `${options.prefix}.${1 + (options.poolSize ?? 253)}`,
    })
    .execute();
  return { id, subnetId, name: options.name };
}

/** A port of the project's on the network, unbound, as `openstack port create` makes one. */
export async function createTestPort(
  db: Db,
  projectId: string,
  networkId: string,
  fixedIp: string | null = null,
): Promise<string> {
  const { row } = await createInstancePort(
    db,
    { projectId, networkId, fixedIp, securityGroups: [] },
    { deviceId: '', deviceOwner: '', hostId: '' },
  );
  return row.id;
}

/** How many ports exist (all projects). */
export async function countPorts(db: Db): Promise<number> {
  const row = await db
    .selectFrom('ports')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

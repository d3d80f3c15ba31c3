/**
 * Guest networking, modelled on Neutron's tables so the network API (networks, subnets, ports, security
 * groups, routers, floating IPs, quotas) has everything it stores from the start:
 *
 * - `networks` carry their provider segment in place (Neutron keeps it in ml2 tables): network_type,
 *   physical_network, segmentation_id, and `segment_key` ("vlan:physnet1:101", "flat:physnet1", null for
 *   local networks), unique, so two networks can never claim one VLAN or one flat interface on any engine
 *   (NULLs never collide in a unique index on SQLite, MariaDB or PostgreSQL). `shared` is a column rather
 *   than Neutron's RBAC table: Stratus shares with everyone or no one.
 * - `subnets` with their allocation pools, ordered DNS servers and host routes in child tables.
 * - `ports` with the binding (host, vif type, vnic type, profile, details) in place; a MAC is unique per
 *   network as in Neutron.
 * - `ip_allocations`: one row per address a port holds. Its primary key (network_id, ip_address) is what
 *   makes handing out one address twice impossible: two API processes racing for the last free address
 *   both try to insert, and the engine lets exactly one through. Addresses are stored in canonical form
 *   (service code normalises them) so textual variants cannot slip past it.
 * - security groups, their rules, `default_security_groups` (one row per project: whoever inserts it first
 *   made the project's `default` group, so two first uses cannot make two), and port bindings.
 * - routers, their ports (gateway and interfaces, as Neutron's routerports), extra routes, floating IPs.
 * - `network_quotas`: per-project limits (Neutron's quotas table; Nova's `quotas` is another API's).
 * - `network_tags`: Neutron's tags on any of its resources, keyed by the resource's uuid.
 * - `port_allowed_address_pairs`: addresses a port may send from besides its own (anti-spoofing).
 *
 * Every mutable resource has Neutron's standard attributes: description, created_at, updated_at and
 * revision_number (bumped by each update, for the If-Match header clients may send).
 */
import type { Dialect } from '../connection-url.ts';
import { TEXT, TS, type MigrationDb } from './column-helpers.ts';

const UUID = 'varchar(36)' as const;
const IP = 'varchar(64)' as const;

export async function up(db: MigrationDb, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('networks')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('router_external', 'integer', (c) => c.notNull())
    .addColumn('network_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('physical_network', 'varchar(64)')
    .addColumn('segmentation_id', 'integer')
    .addColumn('segment_key', 'varchar(128)', (c) => c.unique())
    .addColumn('mtu', 'integer', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('networks_project_idx').on('networks').column('project_id').execute();

  await db.schema
    .createTable('subnets')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('network_id', UUID, (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('cidr', IP, (c) => c.notNull())
    .addColumn('gateway_ip', IP)
    .addColumn('enable_dhcp', 'integer', (c) => c.notNull())
    .addColumn('ipv6_ra_mode', 'varchar(16)')
    .addColumn('ipv6_address_mode', 'varchar(16)')
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('subnets_network_idx').on('subnets').column('network_id').execute();

  await db.schema
    .createTable('subnet_allocation_pools')
    .addColumn('subnet_id', UUID, (c) => c.notNull())
    .addColumn('first_ip', IP, (c) => c.notNull())
    .addColumn('last_ip', IP, (c) => c.notNull())
    .addPrimaryKeyConstraint('subnet_allocation_pools_pk', ['subnet_id', 'first_ip'])
    .execute();

  // `position` keeps the order the user gave: a guest's resolver tries its servers in that order.
  await db.schema
    .createTable('subnet_dns_nameservers')
    .addColumn('subnet_id', UUID, (c) => c.notNull())
    .addColumn('address', IP, (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('subnet_dns_nameservers_pk', ['subnet_id', 'address'])
    .execute();

  await db.schema
    .createTable('subnet_host_routes')
    .addColumn('subnet_id', UUID, (c) => c.notNull())
    .addColumn('destination', IP, (c) => c.notNull())
    .addColumn('nexthop', IP, (c) => c.notNull())
    .addPrimaryKeyConstraint('subnet_host_routes_pk', ['subnet_id', 'destination', 'nexthop'])
    .execute();

  await db.schema
    .createTable('ports')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('network_id', UUID, (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('device_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('device_owner', 'varchar(255)', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('binding_host_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('binding_vif_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('binding_vnic_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('binding_profile', TEXT, (c) => c.notNull())
    .addColumn('binding_vif_details', TEXT, (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    .addUniqueConstraint('ports_network_mac_uc', ['network_id', 'mac_address'])
    .execute();
  await db.schema.createIndex('ports_project_idx').on('ports').column('project_id').execute();
  await db.schema.createIndex('ports_device_idx').on('ports').column('device_id').execute();
  await db.schema.createIndex('ports_host_idx').on('ports').column('binding_host_id').execute();

  await db.schema
    .createTable('ip_allocations')
    .addColumn('network_id', UUID, (c) => c.notNull())
    .addColumn('ip_address', IP, (c) => c.notNull())
    .addColumn('subnet_id', UUID, (c) => c.notNull())
    .addColumn('port_id', UUID, (c) => c.notNull())
    .addPrimaryKeyConstraint('ip_allocations_pk', ['network_id', 'ip_address'])
    .execute();
  await db.schema.createIndex('ip_allocations_subnet_idx').on('ip_allocations').column('subnet_id').execute();
  await db.schema.createIndex('ip_allocations_port_idx').on('ip_allocations').column('port_id').execute();

  await db.schema
    .createTable('port_allowed_address_pairs')
    .addColumn('port_id', UUID, (c) => c.notNull())
    .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
    .addColumn('ip_address', IP, (c) => c.notNull())
    .addPrimaryKeyConstraint('port_allowed_address_pairs_pk', ['port_id', 'mac_address', 'ip_address'])
    .execute();

  await db.schema
    .createTable('security_groups')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('stateful', 'integer', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('security_groups_project_idx').on('security_groups').column('project_id').execute();

  await db.schema
    .createTable('default_security_groups')
    .addColumn('project_id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('security_group_id', UUID, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('security_group_rules')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('security_group_id', UUID, (c) => c.notNull())
    .addColumn('direction', 'varchar(8)', (c) => c.notNull())
    .addColumn('ethertype', 'varchar(8)', (c) => c.notNull())
    .addColumn('protocol', 'varchar(40)')
    .addColumn('port_range_min', 'integer')
    .addColumn('port_range_max', 'integer')
    .addColumn('remote_ip_prefix', IP)
    .addColumn('remote_group_id', UUID)
    .addColumn('remote_address_group_id', UUID)
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('security_group_rules_group_idx')
    .on('security_group_rules')
    .column('security_group_id')
    .execute();
  await db.schema
    .createIndex('security_group_rules_remote_idx')
    .on('security_group_rules')
    .column('remote_group_id')
    .execute();

  await db.schema
    .createTable('security_group_port_bindings')
    .addColumn('port_id', UUID, (c) => c.notNull())
    .addColumn('security_group_id', UUID, (c) => c.notNull())
    .addPrimaryKeyConstraint('security_group_port_bindings_pk', ['port_id', 'security_group_id'])
    .execute();
  await db.schema
    .createIndex('security_group_port_bindings_group_idx')
    .on('security_group_port_bindings')
    .column('security_group_id')
    .execute();

  // The external gateway is a port (device_owner network:router_gateway) on the external network: its
  // network is the router's external_gateway_info.network_id, its addresses the external_fixed_ips.
  await db.schema
    .createTable('routers')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('gw_port_id', UUID)
    .addColumn('enable_snat', 'integer', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('routers_project_idx').on('routers').column('project_id').execute();

  // Neutron's routerports: which ports belong to a router, and as what (port_type is the device_owner).
  await db.schema
    .createTable('router_ports')
    .addColumn('port_id', UUID, (c) => c.primaryKey())
    .addColumn('router_id', UUID, (c) => c.notNull())
    .addColumn('port_type', 'varchar(255)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('router_ports_router_idx').on('router_ports').column('router_id').execute();

  await db.schema
    .createTable('router_routes')
    .addColumn('router_id', UUID, (c) => c.notNull())
    .addColumn('destination', IP, (c) => c.notNull())
    .addColumn('nexthop', IP, (c) => c.notNull())
    .addPrimaryKeyConstraint('router_routes_pk', ['router_id', 'destination', 'nexthop'])
    .execute();

  // A floating IP owns a port on the floating network (device_owner network:floatingip) that holds its
  // address in ip_allocations, so the address cannot also go to another port.
  await db.schema
    .createTable('floating_ips')
    .addColumn('id', UUID, (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('floating_ip_address', IP, (c) => c.notNull())
    .addColumn('floating_network_id', UUID, (c) => c.notNull())
    .addColumn('floating_port_id', UUID, (c) => c.notNull().unique())
    .addColumn('fixed_port_id', UUID)
    .addColumn('fixed_ip_address', IP)
    .addColumn('router_id', UUID)
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS, (c) => c.notNull())
    // As Neutron: one fixed address of a port maps to at most one floating IP per external network.
    .addUniqueConstraint('floating_ips_fixed_uc', ['floating_network_id', 'fixed_port_id', 'fixed_ip_address'])
    .execute();
  await db.schema.createIndex('floating_ips_project_idx').on('floating_ips').column('project_id').execute();
  await db.schema.createIndex('floating_ips_fixed_port_idx').on('floating_ips').column('fixed_port_id').execute();

  await db.schema
    .createTable('network_quotas')
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource', 'varchar(255)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_quotas_pk', ['project_id', 'resource'])
    .execute();

  await db.schema
    .createTable('network_tags')
    .addColumn('resource_id', UUID, (c) => c.notNull())
    .addColumn('tag', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_tags_pk', ['resource_id', 'tag'])
    .execute();
}

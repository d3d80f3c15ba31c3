/**
 * `instance_networks`: what a server asked of the network at create, and what it got, one row per NIC in
 * the order the guest sees them (Nova keeps this in its requested_networks and network info cache).
 *
 * The API writes a row per requested NIC with the build request: a network to make a port on (with an
 * optional fixed address), or a port of the user's. The conductor fills `port_id` when it makes the port.
 * `preserve_on_delete` is Nova's flag of the same name: the port was the user's, so delete and build
 * failure only unbind it; the ports Stratus made are deleted. `tag` is the device tag (2.32).
 * `security_groups` (a JSON list of group ids, or the name `default`) is what a port made for the NIC gets.
 */
import type { Dialect } from '../connection-url.ts';
import { TEXT, type MigrationDb } from './column-helpers.ts';

export async function up(db: MigrationDb, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('instance_networks')
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('network_id', 'varchar(36)')
    .addColumn('fixed_ip', 'varchar(64)')
    .addColumn('port_id', 'varchar(36)')
    .addColumn('tag', 'varchar(60)')
    .addColumn('security_groups', TEXT, (c) => c.notNull())
    .addColumn('preserve_on_delete', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('instance_networks_pk', ['instance_uuid', 'position'])
    .execute();
  await db.schema.createIndex('instance_networks_port_idx').on('instance_networks').column('port_id').execute();
}

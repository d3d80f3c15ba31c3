/** The first schema: services, compute nodes, placement, flavors, instances, identity and images. */
import { BIGINT, TEXT, TS, withId, type MigrationDb } from './column-helpers.ts';
import type { Dialect } from '../connection-url.ts';

export async function up(db: MigrationDb, dialect: Dialect): Promise<void> {
  const table = (name: string) => db.schema.createTable(name);

  await withId(table('services'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('binary', 'varchar(64)', (c) => c.notNull())
    .addColumn('topic', 'varchar(64)', (c) => c.notNull())
    .addColumn('report_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled_reason', 'varchar(255)')
    .addColumn('forced_down', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_seen_up', TS)
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addUniqueConstraint('uniq_services_host_binary', ['host', 'binary'])
    .execute();

  await withId(table('compute_nodes'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('service_id', 'integer', (c) => c.notNull())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('hypervisor_hostname', 'varchar(255)', (c) => c.notNull())
    .addColumn('hypervisor_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('hypervisor_version', 'integer', (c) => c.notNull())
    .addColumn('host_ip', 'varchar(64)')
    .addColumn('cpu_info', TEXT, (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('local_gb', 'integer', (c) => c.notNull())
    .addColumn('running_vms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addColumn('deleted_at', TS)
    .addUniqueConstraint('uniq_compute_nodes_host_node', ['host', 'hypervisor_hostname'])
    .execute();

  await withId(table('resource_providers'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .execute();

  await withId(table('inventories'), dialect)
    .addColumn('resource_provider_id', 'integer', (c) => c.notNull())
    .addColumn('resource_class', 'varchar(64)', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('reserved', 'integer', (c) => c.notNull())
    .addColumn('min_unit', 'integer', (c) => c.notNull())
    .addColumn('max_unit', 'integer', (c) => c.notNull())
    .addColumn('step_size', 'integer', (c) => c.notNull())
    .addColumn('allocation_ratio', 'real', (c) => c.notNull())
    .addUniqueConstraint('uniq_inventories_rp_class', ['resource_provider_id', 'resource_class'])
    .execute();

  await withId(table('allocations'), dialect)
    .addColumn('resource_provider_id', 'integer', (c) => c.notNull())
    .addColumn('consumer_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('resource_class', 'varchar(64)', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull())
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('allocations_rp_idx')
    .on('allocations')
    .columns(['resource_provider_id', 'resource_class'])
    .execute();
  await db.schema.createIndex('allocations_consumer_idx').on('allocations').column('consumer_id').execute();

  await withId(table('flavors'), dialect)
    .addColumn('flavorid', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('root_gb', 'integer', (c) => c.notNull())
    .addColumn('ephemeral_gb', 'integer', (c) => c.notNull())
    .addColumn('swap', 'integer', (c) => c.notNull())
    .addColumn('rxtx_factor', 'real', (c) => c.notNull())
    .addColumn('vcpu_weight', 'integer')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('description', TEXT)
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .execute();

  await withId(table('flavor_extra_specs'), dialect)
    .addColumn('flavor_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('uniq_flavor_extra_specs', ['flavor_id', 'key'])
    .execute();

  await withId(table('flavor_projects'), dialect)
    .addColumn('flavor_id', 'integer', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('uniq_flavor_projects', ['flavor_id', 'project_id'])
    .execute();

  await withId(table('instances'), dialect)
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('display_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('display_description', TEXT)
    .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('image_ref', 'varchar(255)', (c) => c.notNull())
    .addColumn('flavor', TEXT, (c) => c.notNull())
    .addColumn('instance_type_id', 'integer', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('root_gb', 'integer', (c) => c.notNull())
    .addColumn('ephemeral_gb', 'integer', (c) => c.notNull())
    .addColumn('host', 'varchar(255)')
    .addColumn('node', 'varchar(255)')
    .addColumn('vm_state', 'varchar(32)', (c) => c.notNull())
    .addColumn('task_state', 'varchar(32)')
    .addColumn('power_state', 'integer', (c) => c.notNull())
    .addColumn('availability_zone', 'varchar(255)')
    .addColumn('key_name', 'varchar(255)')
    .addColumn('config_drive', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('user_data', TEXT)
    .addColumn('reservation_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('launch_index', 'integer', (c) => c.notNull())
    .addColumn('locked', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('access_ip_v4', 'varchar(64)')
    .addColumn('access_ip_v6', 'varchar(64)')
    .addColumn('launched_at', TS)
    .addColumn('terminated_at', TS)
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addColumn('deleted_at', TS)
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('instances_project_idx').on('instances').columns(['project_id', 'deleted']).execute();
  await db.schema.createIndex('instances_host_idx').on('instances').columns(['host', 'deleted']).execute();
  await db.schema.createIndex('instances_created_idx').on('instances').columns(['deleted', 'created_at']).execute();

  await withId(table('instance_metadata'), dialect)
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('key', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('uniq_instance_metadata', ['instance_uuid', 'key'])
    .execute();

  await withId(table('request_specs'), dialect)
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('spec', TEXT, (c) => c.notNull())
    .execute();

  await withId(table('instance_faults'), dialect)
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('code', 'integer', (c) => c.notNull())
    .addColumn('message', 'varchar(255)', (c) => c.notNull())
    .addColumn('details', TEXT)
    .addColumn('host', 'varchar(255)')
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('instance_faults_uuid_idx').on('instance_faults').column('instance_uuid').execute();

  await withId(table('instance_actions'), dialect)
    .addColumn('action', 'varchar(255)', (c) => c.notNull())
    .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)')
    .addColumn('project_id', 'varchar(255)')
    .addColumn('start_time', TS, (c) => c.notNull())
    .addColumn('finish_time', TS)
    .addColumn('message', 'varchar(255)')
    .addColumn('updated_at', TS)
    .execute();
  await db.schema
    .createIndex('instance_actions_uuid_idx')
    .on('instance_actions')
    .columns(['instance_uuid', 'request_id'])
    .execute();

  await withId(table('instance_actions_events'), dialect)
    .addColumn('action_id', 'integer', (c) => c.notNull())
    .addColumn('event', 'varchar(255)', (c) => c.notNull())
    .addColumn('start_time', TS, (c) => c.notNull())
    .addColumn('finish_time', TS)
    .addColumn('result', 'varchar(255)')
    .addColumn('traceback', TEXT)
    .addColumn('host', 'varchar(255)')
    .addColumn('details', TEXT)
    .execute();
  await db.schema
    .createIndex('instance_actions_events_action_idx')
    .on('instance_actions_events')
    .column('action_id')
    .execute();

  await table('domains')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('description', TEXT)
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();

  await table('projects')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('description', TEXT)
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('parent_id', 'varchar(64)')
    .addColumn('created_at', TS, (c) => c.notNull())
    .addUniqueConstraint('uniq_projects_domain_name', ['domain_id', 'name'])
    .execute();

  await table('users')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('password_hash', 'varchar(255)')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('email', 'varchar(255)')
    .addColumn('description', TEXT)
    .addColumn('default_project_id', 'varchar(64)')
    .addColumn('created_at', TS, (c) => c.notNull())
    .addUniqueConstraint('uniq_users_domain_name', ['domain_id', 'name'])
    .execute();

  await table('roles')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('domain_id', 'varchar(64)')
    .addColumn('description', TEXT)
    .addColumn('created_at', TS, (c) => c.notNull())
    .execute();

  await withId(table('role_assignments'), dialect)
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('actor_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
    .addUniqueConstraint('uniq_role_assignments', ['type', 'actor_id', 'target_id', 'role_id'])
    .execute();

  await table('tokens')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)')
    .addColumn('domain_id', 'varchar(64)')
    .addColumn('methods', 'varchar(255)', (c) => c.notNull())
    .addColumn('audit_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('issued_at', TS, (c) => c.notNull())
    .addColumn('expires_at', TS, (c) => c.notNull())
    .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('tokens_expires_idx').on('tokens').column('expires_at').execute();

  await table('images')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)')
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('disk_format', 'varchar(32)')
    .addColumn('container_format', 'varchar(32)')
    .addColumn('visibility', 'varchar(32)', (c) => c.notNull())
    .addColumn('owner', 'varchar(255)')
    .addColumn('size', BIGINT)
    .addColumn('virtual_size', BIGINT)
    .addColumn('checksum', 'varchar(32)')
    .addColumn('os_hash_algo', 'varchar(64)')
    .addColumn('os_hash_value', 'varchar(128)')
    .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('protected', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('location', TEXT)
    .addColumn('created_at', TS, (c) => c.notNull())
    .addColumn('updated_at', TS)
    .addColumn('deleted_at', TS)
    .execute();

  await withId(table('image_properties'), dialect)
    .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', TEXT, (c) => c.notNull())
    .addUniqueConstraint('uniq_image_properties', ['image_id', 'name'])
    .execute();

  await withId(table('image_tags'), dialect)
    .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('uniq_image_tags', ['image_id', 'value'])
    .execute();
}

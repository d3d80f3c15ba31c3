/**
 * Every configuration option of Stratus, in one place, by section, with Nova's names and defaults where
 * Nova has the option. A string value may refer to a [DEFAULT] option as `$name` (oslo.config's
 * interpolation), which is how the defaults below follow `state_path`.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { bool, float, int, list, optionalFloat, optionalStr, str } from './option-types.ts';

// Only what the scheduler implements: a name here that it lacked would pass the config check and then
// stop the scheduler at start-up. Issue 4 (the full filter set) extends both lists.
const FILTERS = [
  'ComputeFilter',
  'AvailabilityZoneFilter',
  'RamFilter',
  'CoreFilter',
  'DiskFilter',
  'RetryFilter',
] as const;

const WEIGHERS = ['RAMWeigher', 'CPUWeigher', 'DiskWeigher'] as const;

export const OPTIONS = {
  DEFAULT: {
    host: str({ default: hostname(), help: 'Name of this node, used as the service host and RPC server name.' }),
    state_path: str({
      default: resolve('state'),
      help: 'Top-level directory for state: the SQLite database, image store, openrc. Defaults to ./state.',
    }),
    debug: bool({ default: false, help: 'Log at debug level.' }),
    transport_url: str({
      default: 'fake://',
      secret: 'url-password',
      help: 'Message bus: fake:// (in-process, all-in-one) or rabbit://user:pass@host:port/vhost.',
    }),
    rpc_response_timeout: int({ default: 60, min: 1, help: 'Seconds to wait for the reply to an RPC call.' }),
    report_interval: int({ default: 10, min: 1, help: 'Seconds between service heartbeats.' }),
    service_down_time: int({
      default: 60,
      min: 1,
      help: 'A service whose last heartbeat is older than this many seconds is down.',
    }),
    periodic_interval: int({ default: 60, min: 1, help: 'Seconds between runs of periodic tasks.' }),
    compute_driver: str({ default: 'fake', choices: ['fake'], help: 'Virt driver of the compute service.' }),
    cpu_allocation_ratio: optionalFloat({
      default: null,
      min: 0,
      help: 'VCPU overcommit ratio; unset means initial_cpu_allocation_ratio.',
    }),
    ram_allocation_ratio: optionalFloat({
      default: null,
      min: 0,
      help: 'MEMORY_MB overcommit ratio; unset means initial_ram_allocation_ratio.',
    }),
    disk_allocation_ratio: optionalFloat({
      default: null,
      min: 0,
      help: 'DISK_GB overcommit ratio; unset means initial_disk_allocation_ratio.',
    }),
    initial_cpu_allocation_ratio: float({ default: 4.0, min: 0, help: 'VCPU ratio for a new compute node.' }),
    initial_ram_allocation_ratio: float({ default: 1.0, min: 0, help: 'MEMORY_MB ratio for a new compute node.' }),
    initial_disk_allocation_ratio: float({ default: 1.0, min: 0, help: 'DISK_GB ratio for a new compute node.' }),
    reserved_host_memory_mb: int({ default: 512, min: 0, help: 'Memory kept for the host, not for guests.' }),
    reserved_host_disk_mb: int({ default: 0, min: 0, help: 'Disk kept for the host, not for guests.' }),
    reserved_host_cpus: int({ default: 0, min: 0, help: 'Host CPUs kept for the host, not for guests.' }),
    osapi_max_limit: int({ default: 1000, min: 1, help: 'Most items one list request returns.' }),
    osapi_compute_listen: str({ default: '0.0.0.0', help: 'Address the compute API listens on.' }),
    osapi_compute_listen_port: int({ default: 8774, min: 0, max: 65535, help: 'Port of the compute API.' }),
    default_availability_zone: str({ default: 'nova', help: 'Availability zone of compute hosts.' }),
    default_schedule_zone: optionalStr({
      default: null,
      help: 'Availability zone given to a server created without one.',
    }),
    instance_name_template: str({ default: 'instance-%08x', help: 'Template of guest names on the hypervisor.' }),
    resume_guests_state_on_host_boot: bool({
      default: false,
      help: 'Start guests that were running when the compute host went down.',
    }),
    running_deleted_instance_action: str({
      default: 'reap',
      choices: ['noop', 'log', 'shutdown', 'reap'],
      help: 'What to do with guests that still run though their instance is deleted.',
    }),
    running_deleted_instance_poll_interval: int({ default: 1800, min: 0, help: 'Seconds between such checks.' }),
    running_deleted_instance_timeout: int({ default: 0, min: 0, help: 'Seconds before acting on such guests.' }),
    shutdown_timeout: int({ default: 60, min: 0, help: 'Seconds a guest gets to power off cleanly on stop.' }),
    graceful_shutdown_timeout: int({
      default: 60,
      min: 0,
      help: 'Seconds a service waits for in-flight work to finish on SIGTERM.',
    }),
  },
  api: {
    auth_strategy: str({
      default: 'keystone',
      choices: ['keystone', 'noauth2'],
      help: 'How requests are authenticated.',
    }),
    public_host: str({
      default: '127.0.0.1',
      help: 'Host name clients use to reach the APIs; used in the service catalog and links.',
    }),
  },
  identity: {
    listen: str({ default: '0.0.0.0', help: 'Address the identity API listens on.' }),
    listen_port: int({ default: 5000, min: 0, max: 65535, help: 'Port of the identity API.' }),
    region_name: str({ default: 'RegionOne', help: 'Region of the endpoints in the service catalog.' }),
  },
  token: {
    expiration: int({ default: 3600, min: 60, help: 'Seconds a token stays valid (keystone [token] expiration).' }),
    cache_time: int({
      default: 300,
      min: 0,
      help: 'Seconds a validated token is cached by the API (keystonemiddleware token_cache_time).',
    }),
  },
  image: {
    listen: str({ default: '0.0.0.0', help: 'Address the image API listens on.' }),
    listen_port: int({ default: 9292, min: 0, max: 65535, help: 'Port of the image API.' }),
    filesystem_store_datadir: str({ default: '$state_path/images', help: 'Directory of the image store.' }),
    image_size_cap: int({ default: 1099511627776, min: 1, help: 'Largest image upload in bytes.' }),
  },
  database: {
    connection: str({
      default: 'sqlite:///$state_path/stratus.sqlite',
      secret: 'url-password',
      help: 'Database URL: sqlite:///path, mysql+pymysql://user:pass@host/db or postgresql://user:pass@host/db.',
    }),
    max_pool_size: int({ default: 5, min: 1, help: 'Most connections kept open to MariaDB or PostgreSQL.' }),
    max_retries: int({ default: 10, min: 0, help: 'Connection attempts at start-up before giving up.' }),
    retry_interval: int({ default: 1, min: 0, help: 'Seconds between those attempts.' }),
  },
  scheduler: {
    max_attempts: int({ default: 3, min: 1, help: 'Hosts one build is tried on before it goes to ERROR.' }),
    host_state_refresh_interval: float({
      default: 1.0,
      min: 0,
      help:
        'Seconds the scheduler works from its in-memory view of the hosts before reloading it from the ' +
        'database (0: on every request). Its own placements update the view at once; a claim refused by ' +
        'the database or a request no host fits reloads it early.',
    }),
  },
  filter_scheduler: {
    enabled_filters: list({
      default: ['ComputeFilter', 'AvailabilityZoneFilter', 'RamFilter', 'CoreFilter', 'DiskFilter', 'RetryFilter'],
      choices: FILTERS,
      help: 'Filters a host must pass, in order.',
    }),
    weight_classes: list({ default: ['RAMWeigher'], choices: WEIGHERS, help: 'Weighers that rank the hosts left.' }),
    host_subset_size: int({ default: 1, min: 1, help: 'Pick at random among this many best hosts.' }),
    ram_weight_multiplier: float({ default: 1.0, help: 'Positive spreads by free RAM, negative stacks.' }),
    cpu_weight_multiplier: float({ default: 1.0, help: 'Positive spreads by free VCPUs, negative stacks.' }),
    disk_weight_multiplier: float({ default: 1.0, help: 'Positive spreads by free disk, negative stacks.' }),
  },
  fake_driver: {
    node_count: int({ default: 1, min: 1, help: 'Simulated nodes this compute service hosts, each a compute node.' }),
    vcpus: int({ default: 32, min: 1, help: 'VCPUs of each simulated node.' }),
    memory_mb: int({ default: 131072, min: 1, help: 'Memory of each simulated node.' }),
    local_gb: int({ default: 2048, min: 1, help: 'Disk of each simulated node.' }),
    spawn_delay_ms: int({ default: 0, min: 0, help: 'Simulated time a guest takes to spawn.' }),
    power_delay_ms: int({ default: 0, min: 0, help: 'Simulated time of stop, start and reboot.' }),
    spawn_failure_rate: float({
      default: 0,
      min: 0,
      max: 1,
      help: 'Share of spawns that fail (0 to 1), to exercise rescheduling.',
    }),
  },
} as const;

export type OptionsSpec = typeof OPTIONS;

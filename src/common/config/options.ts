/**
 * Every configuration option of Stratus, in one place, by section, with Nova's names and defaults where
 * Nova has the option. A string value may refer to a [DEFAULT] option as `$name` (oslo.config's
 * interpolation), which is how the defaults below follow `state_path`.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { STORAGE_TIERS } from '../storage-tiers.ts';
import { bool, float, int, list, multi, optionalCpuSet, optionalFloat, optionalStr, str } from './option-types.ts';

// Nova's defaults (Zed), plus the resource and zone checks and RetryFilter that Nova has since moved
// into placement queries and alternates: this scheduler does those checks itself.
const DEFAULT_FILTERS = [
  'ComputeFilter',
  'AvailabilityZoneFilter',
  'RamFilter',
  'CoreFilter',
  'DiskFilter',
  'RetryFilter',
  'ComputeCapabilitiesFilter',
  'ImagePropertiesFilter',
  'ServerGroupAntiAffinityFilter',
  'ServerGroupAffinityFilter',
] as const;

// Only what the scheduler implements: a name here that it lacked would pass the config check and then
// stop the scheduler at start-up (a test keeps these lists and the scheduler's registries equal).
export const FILTERS = [
  ...DEFAULT_FILTERS,
  'JsonFilter',
  'SameHostFilter',
  'DifferentHostFilter',
  'AggregateInstanceExtraSpecsFilter',
  'AggregateMultiTenancyIsolation',
] as const;

export const WEIGHERS = [
  'RAMWeigher',
  'CPUWeigher',
  'DiskWeigher',
  'ServerGroupSoftAffinityWeigher',
  'ServerGroupSoftAntiAffinityWeigher',
  'BuildFailureWeigher',
] as const;

const NOTIFICATION_DRIVERS = ['messagingv2', 'messaging', 'log', 'noop'];

export const OPTIONS = {
  DEFAULT: {
    host: str({ default: hostname(), help: 'Name of this node, used as the service host and RPC server name.' }),
    state_path: str({
      default: resolve('state'),
      help: 'Top-level directory for state: the SQLite database, image store, openrc. Defaults to ./state.',
    }),
    debug: bool({ default: false, help: 'Log at debug level.' }),
    migrate_max_retries: int({
      default: -1,
      min: -1,
      help:
        'Other scheduled destinations a live migration tries after one refuses it (-1: until none is left, ' +
        "0: none). Like Nova's [DEFAULT] migrate_max_retries.",
    }),
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
    sync_power_state_interval: int({
      default: 600,
      min: -1,
      help:
        'Seconds between syncs of the power states the database records with what the hypervisor reports ' +
        '(0: every periodic_interval, -1: never; guest events still sync their instance at once).',
    }),
    compute_driver: str({
      default: 'fake',
      choices: ['fake', 'qemu'],
      help: 'Virt driver of the compute service: fake (in memory) or qemu (real guests, qemu-system-x86_64).',
    }),
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
    vcpu_pin_set: optionalCpuSet({
      default: null,
      help:
        'Deprecated in Nova (use [compute] cpu_shared_set), still read: the host CPUs that count as VCPU ' +
        'inventory and that guests may run on. Cannot be combined with [compute] cpu_dedicated_set.',
    }),
    instances_path: str({
      default: '$state_path/instances',
      help:
        "Where guests' files live (qemu driver: guest.json, QMP socket, console log, the _base image cache); " +
        'also the directory of the single storage pool when [storage] pools is empty.',
    }),
    osapi_max_limit: int({ default: 1000, min: 1, help: 'Most items one list request returns.' }),
    osapi_compute_listen: str({ default: '0.0.0.0', help: 'Address the compute API listens on.' }),
    osapi_compute_listen_port: int({ default: 8774, min: 0, max: 65535, help: 'Port of the compute API.' }),
    metadata_listen: str({ default: '0.0.0.0', help: 'Address the metadata service listens on.' }),
    metadata_listen_port: int({ default: 8775, min: 0, max: 65535, help: 'Port of the metadata service.' }),
    default_availability_zone: str({ default: 'nova', help: 'Availability zone of compute hosts.' }),
    default_schedule_zone: optionalStr({
      default: null,
      help: 'Availability zone given to a server created without one.',
    }),
    instance_name_template: str({ default: 'instance-%08x', help: 'Template of guest names on the hypervisor.' }),
    password_length: int({ default: 12, min: 0, help: 'Length of generated server admin passwords.' }),
    force_config_drive: bool({
      default: false,
      help: 'Give every new server a config drive, whether or not its create asked for one (config_drive).',
    }),
    config_drive_format: str({
      default: 'iso9660',
      choices: ['iso9660', 'vfat'],
      help:
        'Config drive volume: iso9660 (labelled config-2, attached as a read-only CD-ROM) or vfat (the same ' +
        'label, attached as a read-only disk).',
    }),
    mkisofs_cmd: str({
      default: 'genisoimage',
      help: 'Program that writes the ISO 9660 config drive (genisoimage, or xorrisofs: the same arguments).',
    }),
    api_rate_limit: str({
      default: '',
      help:
        'Requests per user and per project on all APIs together, as comma-separated <user|project>:<count>/' +
        '<second|minute|hour|day> (e.g. user:600/minute,project:3000/minute); counted in [cache] when one is ' +
        'configured, so the limits hold across api processes. Empty: no limit.',
    }),
    reclaim_instance_interval: int({
      default: 0,
      min: 0,
      help: 'Seconds a deleted server stays SOFT_DELETED (restorable) before compute deletes it for good; 0 deletes at once.',
    }),
    resume_guests_state_on_host_boot: bool({
      default: false,
      help: 'Start guests that were running when the compute host went down.',
    }),
    running_deleted_instance_action: str({
      default: 'reap',
      choices: ['noop', 'log', 'shutdown', 'reap'],
      help: 'What to do with guests that still run though their instance is deleted.',
    }),
    running_deleted_instance_poll_interval: int({
      default: 1800,
      min: 0,
      help: 'Seconds between checks for guests whose instance is deleted (0: never).',
    }),
    running_deleted_instance_timeout: int({
      default: 0,
      min: 0,
      help: 'Seconds after its deletion (or after it was first seen, for a guest unknown to the database) before such a guest is acted on.',
    }),
    shutdown_timeout: int({ default: 60, min: 0, help: 'Seconds a guest gets to power off cleanly on stop.' }),
    shelved_offload_time: int({
      default: 0,
      min: -1,
      help:
        'Seconds a shelved server stays on its host before it is offloaded (0: offloaded at once when shelved, ' +
        '-1: never, until shelveOffload is asked for).',
    }),
    shelved_poll_interval: int({
      default: 3600,
      min: -1,
      help: 'Seconds between checks for shelved servers to offload (0: every periodic_interval, -1: never).',
    }),
    allow_resize_to_same_host: bool({
      default: false,
      help: "Let a resize pick the server's own host as its destination (cold migration never does).",
    }),
    instance_build_timeout: int({
      default: 0,
      min: 0,
      help:
        'Seconds a server may stay in BUILD before it is set to ERROR with a fault and its claim freed ' +
        '(0: never). Compute hosts time their own builds; the conductor those never placed or on a host that is down.',
    }),
    reboot_timeout: int({
      default: 0,
      min: 0,
      help: 'Seconds a reboot may stay under way before the guest is hard rebooted automatically (0: never).',
    }),
    resize_confirm_window: int({
      default: 0,
      min: 0,
      help: 'Seconds after which a resize waiting in VERIFY_RESIZE is confirmed by itself (0: never).',
    }),
    graceful_shutdown_timeout: int({
      default: 60,
      min: 0,
      help: 'Seconds a service waits for in-flight work to finish on SIGTERM.',
    }),
    web: str({
      default: '/usr/share/novnc',
      help: 'Directory of the noVNC web client the console proxy serves (Debian package novnc).',
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
    enable_instance_password: bool({
      default: true,
      help: 'Return the admin password (adminPass) in the answer to a server create.',
    }),
    max_servers_per_request: int({
      default: 1000,
      min: 1,
      help:
        'Most servers one POST /servers may create, whatever the quotas allow: max_count is lowered to it, ' +
        'min_count above it is a 400.',
    }),
    dhcp_domain: str({
      default: 'novalocal',
      help: "Domain the metadata service appends to a guest's hostname (empty: the bare hostname).",
    }),
    metadata_cache_expiration: int({
      default: 15,
      min: 0,
      help: "Seconds the metadata service keeps an instance's metadata before reading it again (0: never kept).",
    }),
    vendordata_providers: list({
      default: ['StaticJSON'],
      choices: ['StaticJSON'],
      help: 'Sources of vendor data: StaticJSON serves the file of vendordata_jsonfile_path.',
    }),
    vendordata_jsonfile_path: optionalStr({
      default: null,
      help: 'JSON file StaticJSON serves as vendor_data.json (unset: {}); read when the metadata service starts.',
    }),
  },
  neutron: {
    service_metadata_proxy: bool({
      default: false,
      help:
        'Requests reach the metadata service through a proxy that names the instance (X-Instance-ID, signed ' +
        "with metadata_proxy_shared_secret); off, the request's source address is the guest's fixed IP.",
    }),
    metadata_proxy_shared_secret: str({
      default: '',
      secret: 'all',
      help:
        'Key of X-Instance-ID-Signature, the HMAC-SHA256 of the instance uuid that the metadata proxy adds and ' +
        'the metadata service checks (Nova option). Must be the same on compute hosts and the metadata service.',
    }),
  },
  identity: {
    listen: str({ default: '0.0.0.0', help: 'Address the identity API listens on.' }),
    listen_port: int({ default: 5000, min: 0, max: 65535, help: 'Port of the identity API.' }),
    region_name: str({ default: 'RegionOne', help: 'Region of the endpoints in the service catalog.' }),
    password_hash_rounds: int({
      default: 15,
      min: 10,
      max: 20,
      help: 'Work factor of new password hashes (keystone [identity] password_hash_rounds): scrypt with N = 2^rounds. Each step doubles the CPU time and memory of every login; lower it only where hashes need not resist cracking (test clouds).',
    }),
  },
  token: {
    expiration: int({ default: 3600, min: 60, help: 'Seconds a token stays valid (keystone [token] expiration).' }),
    cache_time: int({
      default: 300,
      min: 0,
      help: 'Seconds a validated token is cached by the API (keystonemiddleware token_cache_time).',
    }),
  },
  cache: {
    enabled: bool({
      default: false,
      help: 'Share validated tokens and rate-limit counters between api processes through [cache] backend (oslo.cache).',
    }),
    backend: str({
      default: 'dogpile.cache.null',
      choices: ['dogpile.cache.null', 'dogpile.cache.redis'],
      help: 'The shared cache: dogpile.cache.redis, or dogpile.cache.null for none (each process keeps its own).',
    }),
    backend_argument: multi({
      default: [],
      secret: 'all',
      help: 'Arguments of the backend as name:value, repeatable; dogpile.cache.redis reads url:redis://[:password@]host[:port][/db].',
    }),
  },
  image: {
    listen: str({ default: '0.0.0.0', help: 'Address the image API listens on.' }),
    listen_port: int({ default: 9292, min: 0, max: 65535, help: 'Port of the image API.' }),
    filesystem_store_datadir: str({ default: '$state_path/images', help: 'Directory of the image store.' }),
    image_size_cap: int({ default: 1099511627776, min: 1, help: 'Largest image upload in bytes.' }),
  },
  network: {
    listen: str({ default: '0.0.0.0', help: 'Address the network API (Neutron v2.0) listens on.' }),
    listen_port: int({ default: 9696, min: 0, max: 65535, help: 'Port of the network API.' }),
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
  oslo_messaging_rabbit: {
    rabbit_retry_interval: int({ default: 1, min: 0, help: 'Seconds before the second connection attempt.' }),
    rabbit_retry_backoff: int({ default: 2, min: 0, help: 'Seconds added to that wait after each failed attempt.' }),
    rabbit_interval_max: int({ default: 30, min: 1, help: 'Longest wait between connection attempts, in seconds.' }),
    startup_timeout: int({
      default: 60,
      min: 0,
      help: 'Stratus: seconds a service starting while RabbitMQ is unreachable keeps trying before it exits (0: one attempt).',
    }),
  },
  compute: {
    cpu_shared_set: optionalCpuSet({
      default: null,
      help:
        'Host CPUs for guests without dedicated CPUs: their count is the VCPU inventory (before ' +
        'cpu_allocation_ratio). Unset: every host CPU, or none when cpu_dedicated_set is set.',
    }),
    cpu_dedicated_set: optionalCpuSet({
      default: null,
      help:
        'Host CPUs pinned one-to-one to the vCPUs of guests whose flavor has hw:cpu_policy=dedicated: ' +
        'their count is the PCPU inventory (never overcommitted). Must not overlap cpu_shared_set.',
    }),
    consecutive_build_service_disable_threshold: int({
      default: 10,
      min: 0,
      help:
        'Any nonzero value makes compute hosts count consecutive failed builds per node and report them ' +
        '(the failed_builds stat) for the BuildFailureWeigher; 0 turns the counting off.',
    }),
    vif_cache_directory: str({
      default: '$state_path/vif_cache',
      help:
        "Where a compute host records each guest's network interfaces (one file per guest, under a " +
        'folder per host), so that it can rebuild the datapath at start without a database.',
    }),
  },
  storage: {
    default_tier: str({
      default: 'hdd',
      choices: STORAGE_TIERS,
      help: 'Storage tier of a server that asks for none (Stratus extension: Nova has no storage tiers).',
    }),
    pools: list({
      default: [],
      help:
        'Storage pools of this compute host, as tier:directory or tier:directory:size_gb (tiers: ' +
        `${STORAGE_TIERS.join(', ')}; one pool per tier). Without a size, the pool is the size of its ` +
        'filesystem. Empty: one pool of default_tier in [DEFAULT] instances_path.',
    }),
  },
  scheduler: {
    max_attempts: int({ default: 3, min: 1, help: 'Hosts one build is tried on before it goes to ERROR.' }),
    host_state_refresh_interval: float({
      default: 1.0,
      min: 0,
      help:
        'Seconds the scheduler works from its in-memory view of the hosts before reloading it from the ' +
        'database, in the background while requests keep using the old view; a view older than twice ' +
        'this is waited for (0: read on every request). Its own placements update the view at once; a ' +
        'claim refused by the database or a request no host fits reloads it early. A reload of 100,000 ' +
        'hosts takes seconds of CPU: raise this for such fleets.',
    }),
  },
  filter_scheduler: {
    enabled_filters: list({
      default: DEFAULT_FILTERS,
      choices: FILTERS,
      help: 'Filters a host must pass, in order.',
    }),
    weight_classes: list({
      default: WEIGHERS,
      choices: WEIGHERS,
      help: "Weighers that rank the hosts left; all of them by default, as Nova's all_weighers.",
    }),
    host_subset_size: int({ default: 1, min: 1, help: 'Pick at random among this many best hosts.' }),
    ram_weight_multiplier: float({ default: 1.0, help: 'Positive spreads by free RAM, negative stacks.' }),
    cpu_weight_multiplier: float({ default: 1.0, help: 'Positive spreads by free VCPUs, negative stacks.' }),
    disk_weight_multiplier: float({ default: 1.0, help: 'Positive spreads by free disk, negative stacks.' }),
    soft_affinity_weight_multiplier: float({
      default: 1.0,
      min: 0,
      help: 'Weight of ServerGroupSoftAffinityWeigher: how strongly soft-affinity members gather on one host.',
    }),
    soft_anti_affinity_weight_multiplier: float({
      default: 1.0,
      min: 0,
      help: 'Weight of ServerGroupSoftAntiAffinityWeigher: how strongly soft-anti-affinity members spread.',
    }),
    build_failure_weight_multiplier: float({
      default: 1000000.0,
      help:
        'Weight of BuildFailureWeigher against the consecutive failed builds a node reports; the large ' +
        'default outweighs every other weigher, so a failing node is chosen last. 0 disables it.',
    }),
    image_properties_default_architecture: optionalStr({
      default: null,
      help: 'Architecture ImagePropertiesFilter assumes for an image that names none (e.g. x86_64).',
    }),
  },
  qemu: {
    virt_type: str({
      default: 'auto',
      choices: ['auto', 'kvm', 'qemu'],
      help:
        'Acceleration: kvm (hardware), qemu (TCG emulation) or auto (a probe boot at start-up uses KVM when it ' +
        'really runs a guest with -cpu host, else TCG). Like [libvirt] virt_type, plus auto.',
    }),
    binary: str({ default: 'qemu-system-x86_64', help: 'The QEMU system emulator to run guests with.' }),
    qemu_img_binary: str({ default: 'qemu-img', help: 'The qemu-img tool (Debian package qemu-utils).' }),
    snapshots_directory: str({
      default: '',
      help:
        'Where a snapshot is flattened before its upload, and removed after it (empty: instances_path/snapshots). ' +
        'Like [libvirt] snapshots_directory.',
    }),
    machine_type: str({ default: 'pc', help: 'QEMU machine type of guests (-machine).' }),
    migration_address: str({
      default: '127.0.0.1',
      help:
        'The address of this host that other compute hosts reach it at to move guests: a resize or cold ' +
        "migration's destination pulls the guest's disks from it (the compute process listens there).",
    }),
    live_migration_inbound_addr: str({
      default: '',
      help:
        "The address of this host that a live migration's source reaches this host's qemu at (its disks' NBD " +
        'export and the incoming state); empty: migration_address. With [linux_bridge] namespace qemu listens ' +
        "inside that namespace, so give the address of the namespace's management interface. Like [libvirt] " +
        'live_migration_inbound_addr.',
    }),
    tcg_tb_size_mb: int({
      default: 16,
      min: 0,
      help: 'Translation cache of each guest under TCG, in MiB (0: QEMU default); small saves host memory.',
    }),
    wait_soft_reboot_seconds: int({
      default: 120,
      min: 0,
      help: 'Seconds a guest gets to shut down on a soft reboot before it is reset (Nova [libvirt] option).',
    }),
    spawn_timeout: int({ default: 60, min: 1, help: 'Seconds a guest gets to start running after launch.' }),
  },
  linux_bridge: {
    physical_interface_mappings: list({
      default: [],
      help:
        "Host interfaces that carry provider networks, as physical_network:interface pairs (Neutron's Linux " +
        'bridge agent option). A flat network is bridged onto its interface, a vlan network onto interface.vid.',
    }),
    namespace: optionalStr({
      default: null,
      help:
        'Network namespace the whole datapath (bridges, taps, dnsmasq, nftables) lives in; created if missing. ' +
        "Empty: the host's own. Lets several compute hosts share one machine; qemu is then started inside it.",
    }),
    state_directory: str({
      default: '$state_path/linux_bridge',
      help: 'Where the datapath keeps its dnsmasq files and the list of host objects it made.',
    }),
    dhcp_lease_duration: int({
      default: 86400,
      min: 120,
      help: 'Seconds of a DHCP lease (Neutron [DEFAULT] dhcp_lease_duration).',
    }),
  },
  metadata_agent: {
    enabled: bool({
      default: true,
      help:
        "Proxy guests' requests to http://169.254.169.254/ to the metadata service, naming the instance (as " +
        "Neutron's metadata agent does); needs the Linux bridge datapath.",
    }),
    nova_metadata_host: str({
      default: '127.0.0.1',
      help: "Host of the metadata service the compute host's proxy forwards to (Neutron metadata agent option).",
    }),
    nova_metadata_port: int({
      default: 8775,
      min: 1,
      max: 65535,
      help: 'TCP port of the metadata service (Neutron metadata agent option).',
    }),
    nova_metadata_protocol: str({
      default: 'http',
      choices: ['http', 'https'],
      help: 'Protocol of the metadata service (Neutron metadata agent option).',
    }),
  },

  image_cache: {
    subdirectory_name: str({ default: '_base', help: 'Directory of the image cache under instances_path.' }),
    manager_interval: int({
      default: 2400,
      min: -1,
      help: 'Seconds between runs of the image cache manager (0: every periodic_interval, -1: never).',
    }),
    remove_unused_base_images: bool({ default: true, help: 'Remove cached images that no guest uses.' }),
    remove_unused_original_minimum_age_seconds: int({
      default: 86400,
      min: 0,
      help: 'Seconds an unused cached image is kept after its last use.',
    }),
  },
  glance: {
    api_servers: list({
      default: [],
      help: 'Image API base URLs compute downloads from; empty: the one the service catalog names.',
    }),
    auth_url: optionalStr({
      default: null,
      help: "Identity API compute authenticates with (its service user); unset: this cloud's own identity URL.",
    }),
    username: optionalStr({
      default: null,
      help: 'Service user compute fetches images as (needs the admin role). All-in-one creates one.',
    }),
    password: optionalStr({ default: null, secret: 'all', help: 'Password of that service user.' }),
    project_name: str({ default: 'service', help: "Project of compute's service user." }),
    user_domain_name: str({ default: 'Default', help: "Domain of compute's service user." }),
    project_domain_name: str({ default: 'Default', help: "Domain of that user's project." }),
  },
  vnc: {
    enabled: bool({
      default: true,
      help: 'Give guests a VNC console (qemu driver) and serve the console proxy in the api service.',
    }),
    server_listen: str({
      default: '127.0.0.1',
      help:
        "Address each guest's VNC server listens on, on its compute host. Loopback keeps it private to the " +
        'host; with api and compute on different machines it must be an address the proxy can reach.',
    }),
    server_proxyclient_address: str({
      default: '127.0.0.1',
      help: "Address of this compute host's guest VNC servers as the console proxy connects to it.",
    }),
    novncproxy_base_url: optionalStr({
      default: null,
      help:
        'Base of the console URLs handed to users, e.g. https://console.example.com:6080/vnc_lite.html; ' +
        'unset: http://<[api] public_host>:<novncproxy_port>/vnc_lite.html (the screen alone, connected at once).',
    }),
    novncproxy_host: str({ default: '0.0.0.0', help: 'Address the console proxy (noVNC and websocket) listens on.' }),
    novncproxy_port: int({ default: 6080, min: 0, max: 65535, help: 'Port of the console proxy.' }),
  },
  dashboard: {
    enabled: bool({
      default: true,
      help: 'Serve the web dashboard (a browser client of the public APIs) from the api service.',
    }),
    listen: str({ default: '0.0.0.0', help: 'Address the dashboard listens on.' }),
    port: int({ default: 8080, min: 0, max: 65535, help: 'Port of the dashboard.' }),
  },
  consoleauth: {
    token_ttl: int({ default: 600, min: 1, help: 'Seconds a console token stays valid if unused.' }),
  },
  console: {
    allowed_origins: list({
      default: [],
      help:
        'Host names, besides the one a browser connects to, whose pages may open console websockets ' +
        '(the Origin header); guards against other sites using a console URL.',
    }),
  },
  fake_driver: {
    node_count: int({ default: 1, min: 1, help: 'Simulated nodes this compute service hosts, each a compute node.' }),
    vcpus: int({ default: 32, min: 1, help: 'VCPUs of each simulated node.' }),
    memory_mb: int({ default: 131072, min: 1, help: 'Memory of each simulated node.' }),
    local_gb: int({
      default: 2048,
      min: 1,
      help: 'Disk of each simulated node: the size of its one pool when storage_pools is empty.',
    }),
    storage_pools: list({
      default: [],
      help:
        'Simulated storage pools of each node, as tier:size_gb (e.g. hdd:2048,ssd:200). Empty: one pool ' +
        'of [storage] default_tier with local_gb.',
    }),
    spawn_delay_ms: int({ default: 0, min: 0, help: 'Simulated time a guest takes to spawn.' }),
    power_delay_ms: int({ default: 0, min: 0, help: 'Simulated time of stop, start and reboot.' }),
    spawn_failure_rate: float({
      default: 0,
      min: 0,
      max: 1,
      help: 'Share of spawns that fail (0 to 1), to exercise rescheduling.',
    }),
    move_failure_rates: list({
      default: [],
      help:
        'Share of move steps that fail on this host, as step:rate (steps prep, migrate and finish of ' +
        'resizes and cold migrations; live_check, live_pre, live_migrate and live_post of live migrations; ' +
        'e.g. prep:1,finish:0.2), to exercise rescheduling and the put-back of failed moves.',
    }),
    live_migration_ms: int({
      default: 0,
      min: 0,
      help: "Simulated time a live migration's transfer takes (abort and force complete act within it).",
    }),
  },
  catalog: {
    cache_time: int({
      default: 5,
      min: 0,
      help:
        'Seconds an api process keeps the service catalog it read from the database for the tokens it issues. ' +
        "Its own catalog edits take effect at once; another process's within this time. 0: read it every time.",
    }),
  },
  quota: {
    instances: int({ default: 10, min: -1, help: 'Servers per project (-1: unlimited).' }),
    cores: int({ default: 20, min: -1, help: 'vCPUs of the servers of a project (-1: unlimited).' }),
    ram: int({ default: 50 * 1024, min: -1, help: 'MiB of memory of the servers of a project (-1: unlimited).' }),
    metadata_items: int({ default: 128, min: -1, help: 'Metadata items per server (-1: unlimited).' }),
    injected_files: int({
      default: 5,
      min: -1,
      help: 'Personality files per server; reported by the API below microversion 2.57 (-1: unlimited).',
    }),
    injected_file_content_bytes: int({
      default: 10 * 1024,
      min: -1,
      help: 'Bytes of one personality file; reported below microversion 2.57 (-1: unlimited).',
    }),
    injected_file_path_length: int({
      default: 255,
      min: -1,
      help: 'Characters of a personality file path (the injected_file_path_bytes quota; -1: unlimited).',
    }),
    key_pairs: int({ default: 100, min: -1, help: 'Key pairs per user (-1: unlimited).' }),
    server_groups: int({ default: 10, min: -1, help: 'Server groups per project (-1: unlimited).' }),
    server_group_members: int({ default: 10, min: -1, help: 'Servers per server group (-1: unlimited).' }),
    driver: str({
      default: 'nova.quota.DbQuotaDriver',
      choices: ['nova.quota.DbQuotaDriver', 'nova.quota.NoopQuotaDriver'],
      help:
        'DbQuotaDriver: limits from the database (project, user, class) over these defaults, usage ' +
        'counted and enforced. NoopQuotaDriver: everything unlimited, nothing enforced.',
    }),
    recheck_quota: bool({
      default: true,
      help:
        "Make a create count and insert under its project's lock, so racing requests cannot exceed a " +
        'quota together (one more statement per create on MariaDB and PostgreSQL). False: count without ' +
        'the lock; a burst of parallel requests may then go over the quota.',
    }),
    count_usage_from_placement: bool({
      default: false,
      help:
        "Count cores and ram from the placement allocations of the project's servers instead of their " +
        'flavors: a server never scheduled (ERROR before a host was found) then uses none.',
    }),
    until_refresh: int({
      default: 0,
      min: 0,
      help: 'Accepted and ignored: usage is counted, never stored, so there is nothing to refresh.',
    }),
    max_age: int({
      default: 0,
      min: 0,
      help: 'Accepted and ignored: usage is counted, never stored, so it never ages.',
    }),
    reservation_expire: int({
      default: 86400,
      min: 0,
      help: 'Accepted and ignored: there are no reservations to expire.',
    }),
  },
  metrics: {
    enabled: bool({
      default: true,
      help: 'Serve /metrics (Prometheus) and the health check on a listener of its own in each service process.',
    }),
    listen: str({
      default: '127.0.0.1',
      help: 'Address of that listener; loopback by default, as metrics are for the operator, not tenants.',
    }),
    api_listen_port: metricsPort(9780, 'api (and all-in-one)'),
    conductor_listen_port: metricsPort(9781, 'conductor'),
    scheduler_listen_port: metricsPort(9782, 'scheduler'),
    compute_listen_port: metricsPort(9783, 'compute'),
    metadata_listen_port: metricsPort(9784, 'metadata'),
  },
  healthcheck: {
    path: str({ default: '/healthcheck', help: 'Path of the health check (oslo.middleware [healthcheck] path).' }),
    detailed: bool({
      default: false,
      help: 'Answer JSON requests with each check, its details, the time and the platform (oslo.middleware).',
    }),
  },
  notifications: {
    notification_format: str({
      default: 'versioned',
      choices: ['versioned', 'unversioned', 'both'],
      help:
        "Nova's notification format. Stratus sends versioned notifications only: 'unversioned' sends none, " +
        "'both' sends the versioned ones.",
    }),
    notify_on_state_change: optionalStr({
      default: null,
      help: "Send instance.update when vm_state changes ('vm_state') or vm_state or task_state ('vm_and_task_state').",
      parseValue: (raw) => {
        if (raw !== 'vm_state' && raw !== 'vm_and_task_state') {
          throw new Error(`expected vm_state or vm_and_task_state, got '${raw}'`);
        }
        return raw;
      },
    }),
    default_level: str({
      default: 'INFO',
      choices: ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL'],
      help: 'Priority of notifications that have none of their own (all but the .error ones).',
    }),
    versioned_notifications_topics: list({
      default: ['versioned_notifications'],
      help: 'Topics versioned notifications go to, each as <topic>.<priority> on the nova exchange.',
    }),
    bus_buffer_size: int({
      default: 1000,
      min: 1,
      help:
        'Notifications a process holds while the bus is slow or away; beyond that the oldest are dropped ' +
        '(counted in stratus_notifications_total), so an action never waits for a notification.',
    }),
  },
  oslo_policy: {
    policy_file: str({
      default: 'policy.yaml',
      help:
        'oslo.policy YAML file whose rules override the defaults (`stratus-manage policy defaults` prints them). ' +
        'A relative path is looked up in the directories of the config files; a missing file means the defaults.',
    }),
  },
  oslo_messaging_notifications: {
    driver: {
      ...multi({
        default: [],
        help: 'messagingv2 (oslo envelope), messaging (bare message), log or noop; none set sends nothing, as in oslo.',
      }),
      parse: (raw: string): string[] => {
        if (!NOTIFICATION_DRIVERS.includes(raw)) {
          throw new Error(`expected one of ${NOTIFICATION_DRIVERS.join(', ')}, got '${raw}'`);
        }
        return [raw];
      },
    },
  },
  upgrade_levels: {
    compute: upgradeLevel('compute'),
    conductor: upgradeLevel('conductor'),
    scheduler: upgradeLevel('scheduler'),
  },
} as const;

export type OptionsSpec = typeof OPTIONS;

function metricsPort(port: number, service: string) {
  return int({
    default: port,
    min: 0,
    max: 65535,
    help: `Port of the metrics and health-check listener of the ${service} process (0: any free port, logged).`,
  });
}

/**
 * Nova's [upgrade_levels] options: the highest version of a topic's contract this service sends, during a
 * rolling upgrade. Empty: this release's. `auto`: what the oldest registered service of the topic reads.
 */
function upgradeLevel(topic: string) {
  return optionalStr({
    default: null,
    help:
      `Highest version of the ${topic} RPC contract to send (major.minor), 'auto' for what the oldest ` +
      `registered ${topic} service reads, or empty for this release's. Set it while upgrading service by service.`,
    parseValue: (raw) => {
      if (raw !== 'auto' && !/^\d+\.\d+$/.test(raw)) throw new Error(`expected auto or major.minor, got '${raw}'`);
      return raw;
    },
  });
}

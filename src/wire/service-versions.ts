/**
 * Service versions (Nova's objects/service.py SERVICE_VERSION and its history): every service records the
 * version of its release in the services table (api, conductor and scheduler themselves; compute hosts
 * through the conductor's service_heartbeat), and `[upgrade_levels] <topic> = auto` reads the lowest
 * among a topic's services to know which contract version they all read.
 */
import type { RpcVersion } from '../common/rpc/index.ts';
import type { ServiceBinary } from './messages/service-binaries.ts';

/** This release's service version. Bumped, with a new entry below, whenever a contract's version is. */
export const SERVICE_VERSION = 13;

export type Topic = 'conductor' | 'scheduler' | 'compute';

/** For each service version, the version of each topic's contract the services of that release read. */
export const SERVICE_VERSION_HISTORY: Readonly<Record<number, Readonly<Record<Topic, RpcVersion>>>> = {
  // The first release: it wrote version 1 and carried no versions in its messages (read as 1.0).
  1: { conductor: '1.0', scheduler: '1.0', compute: '1.0' },
  // conductor 1.1: service_heartbeat's version, service_versions.
  2: { conductor: '1.1', scheduler: '1.0', compute: '1.0' },
  // compute 1.1: rescue_instance, unrescue_instance, trigger_crash_dump, get_diagnostics.
  3: { conductor: '1.1', scheduler: '1.0', compute: '1.1' },
  // compute 1.2: soft_delete_instance, restore_instance, set_admin_password.
  4: { conductor: '1.1', scheduler: '1.0', compute: '1.2' },
  // compute 1.3: rebuild_instance.
  5: { conductor: '1.1', scheduler: '1.0', compute: '1.3' },
  // conductor 1.2 and compute 1.4: shelve, shelve offload, unshelve, createBackup.
  6: { conductor: '1.2', scheduler: '1.0', compute: '1.4' },
  // compute 1.5: cache_images (image pre-caching for an aggregate's hosts); conductor 1.3 and
  // scheduler 1.1: RequestSpec 1.1 (requested_destination).
  7: { conductor: '1.3', scheduler: '1.1', compute: '1.5' },
  // compute 1.6: network_info in build_and_run_instance, attach/detach_interface, network_info_changed.
  8: { conductor: '1.3', scheduler: '1.1', compute: '1.6' },
  // compute 1.7 and conductor 1.4: resize and cold migration (the steps, migrate_server, move_step).
  9: { conductor: '1.4', scheduler: '1.1', compute: '1.7' },
  // compute 1.8 and conductor 1.5: disk_source (qemu moves copy disks between hosts); compute 1.9 and
  // conductor 1.6: evacuate (rebuild_instance's recreate, evacuate_server and its reports), and
  // prep_resize's alternates for a rescheduled move; compute 1.10: config_drive in build_and_run_instance
  // and rebuild_instance. Released together.
  10: { conductor: '1.6', scheduler: '1.1', compute: '1.10' },
  // compute 1.11 and conductor 1.7: live migration (the checks and steps, live_migrate_instance, its
  // step and progress reports, abort and force complete); compute 1.12: security_group_members_changed
  // and Vif 1.1 (a rule's remote_group_id), so that a port joining or leaving a group reaches the hosts
  // of the ports whose rules name it; compute 1.13: config_drive in unshelve_instance (an offloaded
  // server gets its config drive back). Released together.
  11: { conductor: '1.7', scheduler: '1.1', compute: '1.13' },
  // conductor 1.8: instance_update's expected_host (a build starts only on the host it is placed on).
  12: { conductor: '1.8', scheduler: '1.1', compute: '1.13' },
  // compute 1.14 and conductor 1.9: Vif 1.2 (a rule naming a remote group may come without its
  // addresses; the host keeps the group's members) and security_group_members (how a host without a
  // group's set gets it). Released together.
  13: { conductor: '1.9', scheduler: '1.1', compute: '1.14' },
};

/** The binary whose services serve a topic. */
export const TOPIC_BINARY: Readonly<Record<Topic, ServiceBinary>> = {
  conductor: 'stratus-conductor',
  scheduler: 'stratus-scheduler',
  compute: 'stratus-compute',
};

/** The contract version of `topic` that services of `serviceVersion` read (a newer one than we know: ours). */
export function topicVersionOf(topic: Topic, serviceVersion: number): RpcVersion {
  const known = SERVICE_VERSION_HISTORY[Math.min(serviceVersion, SERVICE_VERSION)];
  return (known ?? SERVICE_VERSION_HISTORY[1]!)[topic];
}

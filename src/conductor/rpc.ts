/** The conductor's side of its contract (src/wire/contracts/conductor.ts): the manager's handlers. */
import { serveContract } from '../wire/contract.ts';
import { conductorContract } from '../wire/contracts/conductor.ts';
import { VmState } from '../wire/messages/instance-states.ts';
import type { ConductorManager } from './manager.ts';
import type { PortStatusReports } from './port-status-reports.ts';

/** States of a guest whose ports its host has not plugged (or has unplugged). */
const NOT_PLUGGED = new Set<string>([VmState.ERROR, VmState.DELETED, VmState.SHELVED_OFFLOADED, VmState.BUILDING]);

/** `ports`: the reports of guests running with their ports plugged mark those ports up. */
export function conductorEndpoints(manager: ConductorManager, ports: PortStatusReports) {
  return serveContract(conductorContract, {
    build_instances: (ctx, a) => manager.buildInstances(ctx, a.instance_uuids, a.request_spec, a.instances),
    service_heartbeat: (_ctx, a) => manager.serviceHeartbeat(a.host, a.binary, a.topic, a.version),
    service_versions: (_ctx, a) => manager.serviceVersions(a.binaries),
    report_nodes: (_ctx, a) => manager.reportNodes(a.host, a.nodes),
    instance_update: async (ctx, a) => {
      // A guest whose state the host settled runs there with its ports plugged: marked first, so that
      // whoever sees the new state sees its ports up.
      if (a.changes.vm_state !== undefined && !NOT_PLUGGED.has(a.changes.vm_state)) await ports.guestPlugged(a.uuid);
      await manager.instanceUpdate(
        ctx,
        a.uuid,
        a.changes,
        a.expected_task_state,
        a.event,
        a.expected_vm_state,
        a.expected_host,
      );
    },
    instance_deleted: (ctx, a) => manager.instanceDeleted(ctx, a.uuid),
    instances_on_host: (_ctx, a) => manager.instancesOnHost(a.host, a.uuid),
    instances_by_uuid: (_ctx, a) => manager.instancesByUuid(a.uuids),
    start_instance_action: (ctx, a) => manager.startInstanceAction(ctx, a.uuid, a.action),
    action_event: (ctx, a) => manager.actionEvent(ctx, a.uuid, a.event, a.phase, a.host, a.error),
    record_fault: (_ctx, a) => manager.recordFault(a.uuid, a),
    reschedule_build: (ctx, a) => manager.rescheduleBuild(ctx, a),
    sync_disk_snapshots: (_ctx, a) => manager.syncDiskSnapshots(a.uuid, a.chain),
    unshelve_instance: (ctx, a) => manager.shelving.unshelveInstance(ctx, a.uuid, a.host),
    instance_shelved: (_ctx, a) => manager.shelving.instanceShelved(a),
    instance_shelve_offloaded: (_ctx, a) =>
      manager.shelving.instanceShelveOffloaded(a.uuid, a.power_state, a.expected_task_state),
    instance_unshelved: async (_ctx, a) => {
      await manager.shelving.instanceUnshelved(a.uuid, a.power_state, a.expected_task_state);
      await ports.guestPlugged(a.uuid);
    },
    migrate_server: (ctx, a) => manager.moves.migrateServer(ctx, a.uuid, a.migration_uuid, a.host),
    move_step: async (ctx, a) => {
      await manager.moves.moveStep(ctx, a);
      if (a.error === undefined) await ports.movedGuestPlugged(a.migration_uuid);
    },
    confirm_due_resizes: (_ctx, a) => manager.moves.confirmDueResizes(a.host, a.window_seconds),
    evacuate_server: (ctx, a) => manager.evacuations.evacuateServer(ctx, a),
    evacuation_rebuilt: async (ctx, a) => {
      await manager.evacuations.rebuilt(ctx, a);
      if (a.error === undefined) await ports.movedGuestPlugged(a.migration_uuid);
    },
    live_migrate_instance: (ctx, a) => manager.liveMigrations.liveMigrate(ctx, a),
    live_migration_step: async (ctx, a) => {
      await manager.liveMigrations.step(ctx, a);
      // The destination resumed the guest with its ports plugged there: they are up.
      if (a.step === 'finished' && a.error === undefined) await ports.movedGuestPlugged(a.migration_uuid);
    },
    live_migration_progress: (_ctx, a) => manager.liveMigrations.progress(a.migration_uuid, a.progress),
    evacuations_from_host: (_ctx, a) => manager.evacuations.evacuationsFromHost(a.host),
    evacuation_cleaned: (_ctx, a) => manager.evacuations.cleaned(a.migration_uuid, a.host),
    shelved_instances_due: (_ctx, a) => manager.shelving.shelvedInstancesDue(a.host, a.shelved_before),
    security_group_members: (_ctx, a) => manager.securityGroupMembers(a.group_ids),
  });
}

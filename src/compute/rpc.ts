/**
 * The compute service's side of its contract (src/wire/contracts/compute.ts): the manager's handlers, and
 * the action modules beside it (rebuild.ts, rescue.ts) called with the manager as their HostActionSteps.
 */
import type { Notifier } from '../common/notifications/notifier.ts';
import { serveContract, type Handlers } from '../wire/contract.ts';
import { computeContract } from '../wire/contracts/compute.ts';
import { cacheImages } from './image-cache-warmup.ts';
import type { ComputeManager } from './manager.ts';
import { withActionNotifications } from './notifications/action-notifications.ts';
import type { InstanceTracker } from './notifications/tracker.ts';
import { rebuildInstance } from './rebuild.ts';
import { getDiagnostics, rescueInstance, triggerCrashDump, unrescueInstance } from './rescue.ts';

/** With `notify`, the instance actions send Nova's notifications (notifications/action-notifications.ts). */
export function computeEndpoints(manager: ComputeManager, notify?: { notifier: Notifier; tracker: InstanceTracker }) {
  const handlers = computeHandlers(manager);
  return serveContract(
    computeContract,
    notify ? withActionNotifications(handlers, notify.notifier, notify.tracker) : handlers,
  );
}

function computeHandlers(manager: ComputeManager): Handlers<typeof computeContract.methods> {
  return {
    build_and_run_instance: (ctx, a) =>
      manager.buildAndRunInstance(ctx, a.instance, a.node, a.alternates, a.attempt, a.network_info, a.config_drive),
    terminate_instance: (ctx, a) => manager.terminateInstance(ctx, a.instance),
    stop_instance: (ctx, a) => manager.stopInstance(ctx, a.instance),
    start_instance: (ctx, a) => manager.startInstance(ctx, a.instance),
    reboot_instance: (ctx, a) => manager.rebootInstance(ctx, a.instance, a.reboot_type),
    pause_instance: (ctx, a) => manager.guestStateAction(ctx, 'pause', a.instance),
    unpause_instance: (ctx, a) => manager.guestStateAction(ctx, 'unpause', a.instance),
    suspend_instance: (ctx, a) => manager.guestStateAction(ctx, 'suspend', a.instance),
    resume_instance: (ctx, a) => manager.guestStateAction(ctx, 'resume', a.instance),
    snapshot_instance: (ctx, a) => manager.snapshotInstance(ctx, a.instance, a.image_id),
    create_disk_snapshot: (ctx, a) => manager.diskSnapshotAction(ctx, 'create', a.instance, a.snapshot_id),
    delete_disk_snapshot: (ctx, a) => manager.diskSnapshotAction(ctx, 'delete', a.instance, a.snapshot_id),
    revert_disk_snapshot: (ctx, a) => manager.diskSnapshotAction(ctx, 'revert', a.instance, a.snapshot_id),
    get_console_output: (_ctx, a) => manager.getConsoleOutput(a.instance.uuid, a.tail_length),
    get_vnc_console: (_ctx, a) => manager.getVncConsole(a.instance.uuid),
    rescue_instance: (ctx, a) => rescueInstance(manager, ctx, a.instance, a.rescue_image_ref),
    unrescue_instance: (ctx, a) => unrescueInstance(manager, ctx, a.instance),
    trigger_crash_dump: (ctx, a) => triggerCrashDump(manager, ctx, a.instance),
    get_diagnostics: (_ctx, a) => getDiagnostics(manager, a.instance),
    soft_delete_instance: (ctx, a) => manager.softDeleteInstance(ctx, a.instance),
    restore_instance: (ctx, a) => manager.restoreInstance(ctx, a.instance),
    set_admin_password: (ctx, a) => manager.setAdminPassword(ctx, a.instance, a.new_pass),
    rebuild_instance: (ctx, a) => rebuildInstance(manager, ctx, a),
    backup_instance: (ctx, a) => manager.backupInstance(ctx, a.instance, a.image_id, a.backup_type, a.rotation),
    shelve_instance: (ctx, a) => manager.shelving.shelve(ctx, a.instance, a.image_id),
    shelve_offload_instance: (ctx, a) => manager.shelving.shelveOffload(ctx, a.instance),
    unshelve_instance: (ctx, a) =>
      manager.shelving.unshelve(ctx, a.instance, a.image_id, a.node, a.network_info, a.config_drive),
    cache_images: async (_ctx, a) => {
      await cacheImages(manager.driver, manager.host, a.image_ids);
    },
    attach_interface: (ctx, a) => manager.attachInterface(ctx, a.instance, a.vif),
    detach_interface: (ctx, a) => manager.detachInterface(ctx, a.instance, a.vif),
    network_info_changed: (ctx, a) => manager.networkInfoChanged(ctx, a.instance, a.network_info),
    security_group_members_changed: (ctx, a) => manager.securityGroupMembersChanged(ctx, a.groups),
    prep_resize: (ctx, a) => manager.moves.prepResize(ctx, a.instance, a.move, a.alternates),
    resize_instance: (ctx, a) => manager.moves.resizeInstance(ctx, a.instance, a.move),
    finish_resize: (ctx, a) =>
      manager.moves.finishResize(ctx, a.instance, a.move, a.network_info, a.power_on, a.disk_source ?? null),
    confirm_resize: (ctx, a) => manager.moves.confirmResize(ctx, a.instance, a.move),
    revert_resize: (ctx, a) => manager.moves.revertResize(ctx, a.instance, a.move),
    finish_revert_resize: (ctx, a) =>
      manager.moves.finishRevertResize(ctx, a.instance, a.move, a.network_info, a.power_on),
    check_can_live_migrate_destination: (ctx, a) => manager.liveMoves.checkDestination(ctx, a.instance, a.move),
    check_can_live_migrate_source: (ctx, a) => manager.liveMoves.checkSource(ctx, a.instance),
    pre_live_migration: (ctx, a) => manager.liveMoves.preLiveMigration(ctx, a.instance, a.move, a.network_info),
    live_migration: (ctx, a) => manager.liveMoves.liveMigration(ctx, a.instance, a.move, a.migrate_data),
    post_live_migration_at_destination: (ctx, a) =>
      manager.liveMoves.postLiveMigrationAtDestination(ctx, a.instance, a.move, a.network_info),
    post_live_migration: (ctx, a) => manager.liveMoves.postLiveMigration(ctx, a.instance, a.move),
    rollback_live_migration_at_destination: (ctx, a) =>
      manager.liveMoves.rollbackAtDestination(ctx, a.instance, a.move),
    live_migration_abort: (ctx, a) => manager.liveMoves.abort(ctx, a.instance, a.migration_uuid),
    live_migration_force_complete: (ctx, a) => manager.liveMoves.forceComplete(ctx, a.instance, a.migration_uuid),
  };
}

/** The compute service's side of its contract (src/wire/contracts/compute.ts): the manager's handlers. */
import { serveContract } from '../wire/contract.ts';
import { computeContract } from '../wire/contracts/compute.ts';
import type { ComputeManager } from './manager.ts';

export function computeEndpoints(manager: ComputeManager) {
  return serveContract(computeContract, {
    build_and_run_instance: (ctx, a) =>
      manager.buildAndRunInstance(ctx, a.instance, a.node, a.alternates, a.attempt, a.network_info),
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
    rescue_instance: (ctx, a) => manager.rescueInstance(ctx, a.instance, a.rescue_image_ref),
    unrescue_instance: (ctx, a) => manager.unrescueInstance(ctx, a.instance),
    trigger_crash_dump: (ctx, a) => manager.triggerCrashDump(ctx, a.instance),
    get_diagnostics: (_ctx, a) => manager.getDiagnostics(a.instance),
    soft_delete_instance: (ctx, a) => manager.softDeleteInstance(ctx, a.instance),
    restore_instance: (ctx, a) => manager.restoreInstance(ctx, a.instance),
    set_admin_password: (ctx, a) => manager.setAdminPassword(ctx, a.instance, a.new_pass),
    rebuild_instance: (ctx, a) => manager.rebuildInstance(ctx, a),
    backup_instance: (ctx, a) => manager.backupInstance(ctx, a.instance, a.image_id, a.backup_type, a.rotation),
    shelve_instance: (ctx, a) => manager.shelving.shelve(ctx, a.instance, a.image_id),
    shelve_offload_instance: (ctx, a) => manager.shelving.shelveOffload(ctx, a.instance),
    unshelve_instance: (ctx, a) => manager.shelving.unshelve(ctx, a.instance, a.image_id, a.node, a.network_info),
    attach_interface: (_ctx, a) => manager.interfaces.attach(a.instance, a.vif),
    detach_interface: (_ctx, a) => manager.interfaces.detach(a.instance, a.vif),
    network_info_changed: (_ctx, a) => manager.interfaces.networkInfoChanged(a.instance, a.network_info),
  });
}

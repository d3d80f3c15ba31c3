/**
 * The instance state machine, with Nova's values. Three fields describe an instance:
 * - vm_state: the stable state it is in or heading to (what the user asked for last);
 * - task_state: the operation under way, or null when none is;
 * - power_state: what the hypervisor last reported.
 * The API status (BUILD, ACTIVE, SHUTOFF, REBOOT, ...) derives from vm_state and task_state alone.
 */

export const VmState = {
  ACTIVE: 'active',
  BUILDING: 'building',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  STOPPED: 'stopped',
  RESCUED: 'rescued',
  RESIZED: 'resized',
  SOFT_DELETED: 'soft-delete',
  DELETED: 'deleted',
  ERROR: 'error',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
} as const;
export type VmState = (typeof VmState)[keyof typeof VmState];

export const TaskState = {
  SCHEDULING: 'scheduling',
  BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  NETWORKING: 'networking',
  SPAWNING: 'spawning',
  IMAGE_SNAPSHOT: 'image_snapshot',
  IMAGE_PENDING_UPLOAD: 'image_pending_upload',
  IMAGE_UPLOADING: 'image_uploading',
  REBOOTING: 'rebooting',
  REBOOT_PENDING: 'reboot_pending',
  REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard',
  REBOOT_PENDING_HARD: 'reboot_pending_hard',
  REBOOT_STARTED_HARD: 'reboot_started_hard',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  REBUILDING: 'rebuilding',
  REBUILD_BLOCK_DEVICE_MAPPING: 'rebuild_block_device_mapping',
  REBUILD_SPAWNING: 'rebuild_spawning',
  DELETING: 'deleting',
  RESCUING: 'rescuing',
  UNRESCUING: 'unrescuing',
  /** Deferred delete (reclaim_instance_interval > 0): the guest is being powered off, then SOFT_DELETED. */
  SOFT_DELETING: 'soft-deleting',
  RESTORING: 'restoring',
  UPDATING_PASSWORD: 'updating_password',
  /** Stratus extension (disk snapshots): a link is taken, merged away, or the disk reverted to one. */
  DISK_SNAPSHOTTING: 'disk_snapshotting',
  DISK_SNAPSHOT_DELETING: 'disk_snapshot_deleting',
  DISK_SNAPSHOT_REVERTING: 'disk_snapshot_reverting',
  SHELVING: 'shelving',
  SHELVING_IMAGE_PENDING_UPLOAD: 'shelving_image_pending_upload',
  SHELVING_IMAGE_UPLOADING: 'shelving_image_uploading',
  SHELVING_OFFLOADING: 'shelving_offloading',
  UNSHELVING: 'unshelving',
  IMAGE_BACKUP: 'image_backup',
  /** A resize or cold migration (Nova's): scheduled, the source's disk copied, the guest finished on the destination. */
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_MIGRATED: 'resize_migrated',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming',
  /** A live migration under way (Nova's): shown as status MIGRATING. */
  MIGRATING: 'migrating',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const PowerState = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;
export type PowerState = (typeof PowerState)[keyof typeof PowerState];

const REBOOT_SOFT: readonly string[] = [TaskState.REBOOTING, TaskState.REBOOT_PENDING, TaskState.REBOOT_STARTED];
const REBOOT_HARD: readonly string[] = [
  TaskState.REBOOTING_HARD,
  TaskState.REBOOT_PENDING_HARD,
  TaskState.REBOOT_STARTED_HARD,
];
/** Every task of a reboot, soft or hard. */
export const REBOOT_TASKS: readonly string[] = [...REBOOT_SOFT, ...REBOOT_HARD];

/** The tasks of a rebuild, each shown as status REBUILD whatever the vm_state. */
export const REBUILD_TASKS: readonly string[] = [
  TaskState.REBUILDING,
  TaskState.REBUILD_BLOCK_DEVICE_MAPPING,
  TaskState.REBUILD_SPAWNING,
];
/** The tasks of a resize or cold migration under way, each shown as status RESIZE (Nova's). */
export const RESIZE_TASKS: readonly string[] = [
  TaskState.RESIZE_PREP,
  TaskState.RESIZE_MIGRATING,
  TaskState.RESIZE_MIGRATED,
  TaskState.RESIZE_FINISH,
];
const isResizing = (taskState: string | null) => taskState !== null && RESIZE_TASKS.includes(taskState);
const isRebuilding = (taskState: string | null) => taskState !== null && REBUILD_TASKS.includes(taskState);

/** The API status of an instance, as Nova's api/openstack/common.py maps it. */
export function apiStatus(vmState: string, taskState: string | null): string {
  switch (vmState) {
    case VmState.ACTIVE:
      if (taskState && REBOOT_SOFT.includes(taskState)) return 'REBOOT';
      if (taskState && REBOOT_HARD.includes(taskState)) return 'HARD_REBOOT';
      if (isRebuilding(taskState)) return 'REBUILD';
      if (isResizing(taskState)) return 'RESIZE';
      if (taskState === TaskState.MIGRATING) return 'MIGRATING';
      return 'ACTIVE';
    case VmState.BUILDING:
      return 'BUILD';
    case VmState.STOPPED:
      if (isResizing(taskState)) return 'RESIZE';
      return isRebuilding(taskState) ? 'REBUILD' : 'SHUTOFF';
    case VmState.RESIZED:
      return taskState === TaskState.RESIZE_REVERTING ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case VmState.PAUSED:
      return taskState === TaskState.MIGRATING ? 'MIGRATING' : 'PAUSED';
    case VmState.SUSPENDED:
      return 'SUSPENDED';
    case VmState.RESCUED:
      return 'RESCUE';
    case VmState.ERROR:
      return isRebuilding(taskState) ? 'REBUILD' : 'ERROR';
    case VmState.DELETED:
      return 'DELETED';
    case VmState.SOFT_DELETED:
      return 'SOFT_DELETED';
    case VmState.SHELVED:
      return 'SHELVED';
    case VmState.SHELVED_OFFLOADED:
      return 'SHELVED_OFFLOADED';
    default:
      return 'UNKNOWN';
  }
}

/** The vm_states an API status filter (`?status=ACTIVE`) selects, as Nova's status filter does. */
export function vmStatesForStatus(status: string): { vmStates: string[]; taskStates?: string[] } | null {
  switch (status.toUpperCase()) {
    case 'ACTIVE':
      return { vmStates: [VmState.ACTIVE] };
    case 'BUILD':
      return { vmStates: [VmState.BUILDING] };
    case 'SHUTOFF':
      return { vmStates: [VmState.STOPPED] };
    case 'PAUSED':
      return { vmStates: [VmState.PAUSED] };
    case 'SUSPENDED':
      return { vmStates: [VmState.SUSPENDED] };
    case 'ERROR':
      return { vmStates: [VmState.ERROR] };
    case 'DELETED':
      return { vmStates: [VmState.DELETED] };
    case 'SOFT_DELETED':
      return { vmStates: [VmState.SOFT_DELETED] };
    case 'RESCUE':
      return { vmStates: [VmState.RESCUED] };
    case 'VERIFY_RESIZE':
      return { vmStates: [VmState.RESIZED] };
    case 'SHELVED':
      return { vmStates: [VmState.SHELVED] };
    case 'SHELVED_OFFLOADED':
      return { vmStates: [VmState.SHELVED_OFFLOADED] };
    case 'REBOOT':
      return { vmStates: [VmState.ACTIVE], taskStates: REBOOT_SOFT.slice() };
    case 'RESIZE':
      return { vmStates: [VmState.ACTIVE, VmState.STOPPED], taskStates: RESIZE_TASKS.slice() };
    case 'REVERT_RESIZE':
      return { vmStates: [VmState.RESIZED], taskStates: [TaskState.RESIZE_REVERTING] };
    case 'HARD_REBOOT':
      return { vmStates: [VmState.ACTIVE], taskStates: REBOOT_HARD.slice() };
    case 'MIGRATING':
      return { vmStates: [VmState.ACTIVE, VmState.PAUSED], taskStates: [TaskState.MIGRATING] };
    default:
      return null;
  }
}

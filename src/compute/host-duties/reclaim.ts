/**
 * Which soft-deleted instances are due for their real delete (Nova's _reclaim_queued_deletes with
 * _deleted_old_enough): those deleted longer than `[DEFAULT] reclaim_instance_interval` ago. An instance
 * with no deletion time is due at once, as in Nova: nothing says how long it has waited.
 */
export interface QueuedDelete {
  uuid: string;
  /** When the server was (soft-)deleted, as the database stores it. */
  deleted_at: string | null;
}

export function reclaimDue(queued: readonly QueuedDelete[], intervalSec: number, now: number): string[] {
  if (intervalSec <= 0) return [];
  return queued
    .filter((row) => row.deleted_at === null || now - Date.parse(row.deleted_at) > intervalSec * 1000)
    .map((row) => row.uuid);
}

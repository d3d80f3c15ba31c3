/**
 * Guests that run on this host though the database says their instance is deleted (a delete done while
 * the host was down, a delete whose terminate never arrived) or does not know them at all: which of them
 * are due for `running_deleted_instance_action`, once `running_deleted_instance_timeout` has passed
 * since the deletion. A guest unknown to the database has no deletion time; its clock starts when this
 * host first saw it unclaimed, so a guest is never reaped on a first sighting when a timeout is set.
 */
import { PowerState } from '../../wire/messages/instance-states.ts';
import type { GuestInfo } from '../virt/driver.ts';

export type RunningDeletedAction = 'noop' | 'log' | 'shutdown' | 'reap';

export interface OrphanGuest {
  readonly uuid: string;
  /** When the instance was deleted; null for a guest the database does not know. */
  readonly deletedAt: string | null;
  readonly running: boolean;
}

export class RunningDeletedTracker {
  /** Unknown guests, with when this host first saw each one unclaimed (ms since the epoch). */
  private readonly firstSeen = new Map<string, number>();

  /**
   * The guests due now: not among the host's live instances, deleted (or unknown) for at least
   * `timeoutSec`. `deleted` maps the uuids the database holds as deleted to their deletion time.
   */
  due(
    guests: readonly GuestInfo[],
    live: ReadonlySet<string>,
    deleted: ReadonlyMap<string, string>,
    timeoutSec: number,
    now: number,
  ): OrphanGuest[] {
    const orphans = guests.filter((g) => !live.has(g.uuid));
    const unknownNow = new Set(orphans.filter((g) => !deleted.has(g.uuid)).map((g) => g.uuid));
    for (const uuid of this.firstSeen.keys()) if (!unknownNow.has(uuid)) this.firstSeen.delete(uuid);
    for (const uuid of unknownNow) if (!this.firstSeen.has(uuid)) this.firstSeen.set(uuid, now);
    return orphans
      .filter((g) => {
        const deletedAt = deleted.get(g.uuid);
        const since = deletedAt === undefined ? this.firstSeen.get(g.uuid)! : Date.parse(deletedAt);
        return now - since >= timeoutSec * 1000;
      })
      .map((g) => ({
        uuid: g.uuid,
        deletedAt: deleted.get(g.uuid) ?? null,
        running: g.powerState === PowerState.RUNNING || g.powerState === PowerState.PAUSED,
      }));
  }
}

/**
 * Recording a build request: the instances (BUILDING/scheduling), the request spec each keeps for
 * reschedules, a 'create' instance action and their server group membership, in one transaction. What
 * POST /servers writes before it casts build_instances to the conductor.
 *
 * The quota check is part of that transaction: the project's quota lock (objects/quotas.ts), one query
 * that counts what the project uses and reads its limits, then the inserts. Two API processes creating
 * the project's last servers therefore count one after the other, and the lock is released at commit,
 * before the build is cast. Where no limit applies to servers, cores or ram, no lock is taken and the
 * count is skipped: only the limits are read.
 */
import { setImmediate } from 'node:timers/promises';
import type { RequestContext } from '../common/context.ts';
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { retryOnLockConflict } from '../common/db/lock-conflict.ts';
import { Turns } from '../common/turns.ts';
import type { RequestSpec } from '../wire/messages/request-spec.ts';
import { InstanceAction, startAction } from './instance-actions.ts';
import { insertInstance, type NewInstance } from './instances.ts';
import {
  createQuotaSnapshot,
  lockProjectQuota,
  quotasEnforced,
  serverLimitsConfigured,
  writersTakeTurns,
  type CreateQuotaSnapshot,
} from './quotas.ts';
import { insertRequestSpec } from './request-specs.ts';
import { addServerGroupMembers } from './server-groups.ts';

/** Instances written between turns of the event loop. */
const YIELD_EVERY = 25;

export interface BuildRequest {
  instances: readonly NewInstance[];
  spec: RequestSpec;
}

export interface QuotaGate {
  config: Config;
  /** How many of the requested instances may be created; throws (QuotaExceeded) when too few fit. */
  decide(snapshot: CreateQuotaSnapshot): number;
}

/** Records instances already made, without a quota check (tests, and callers that checked otherwise). */
export async function recordBuildRequest(
  db: Db,
  ctx: RequestContext,
  instances: readonly NewInstance[],
  spec: RequestSpec,
  /** The server group (id) the instances join, from the `group` scheduler hint. */
  groupId: number | null = null,
): Promise<void> {
  await recordCheckedBuildRequest(db, ctx, { maxCount: instances.length, build: () => ({ instances, spec }), groupId });
}

/** Checks the quotas (when `quota` is given) and records as many instances as they allow. */
/** This process's creates under a project's quota lock, one project's at a time. */
const projectTurns = new Turns();

export async function recordCheckedBuildRequest<T extends BuildRequest>(
  db: Db,
  ctx: RequestContext,
  request: {
    /** The most instances asked for (max_count). */
    maxCount: number;
    /** Makes the instances and their spec once their number is known. */
    build(count: number): T;
    /** The server group (id) the instances join, from the `group` scheduler hint. */
    groupId?: number | null;
    /** The quota check; none records without one. */
    quota?: QuotaGate;
    /** Writes what else each instance keeps (its requested NICs), in the same transaction. */
    recordEach?(trx: Db, uuid: string): Promise<void>;
  },
): Promise<T> {
  const groupId = request.groupId ?? null;
  const quota = request.quota && quotasEnforced(request.quota.config) ? request.quota : null;
  // Nova's recheck_quota = False: no lock, so a burst of parallel creates may pass together.
  const guarded = quota?.config.quota.recheck_quota ?? false;
  // Lock first when a limit is likely to apply (the options set one) or the lock costs nothing
  // (SQLite). A cloud whose options leave servers unlimited reads first and takes no lock unless a
  // stored limit applies; then it starts again, locking first: on MariaDB the transaction's reads
  // keep the view of its first read, so counting again after the lock would not see the last commit.
  let lockFirst = guarded && quota !== null && (serverLimitsConfigured(quota.config) || writersTakeTurns(db));
  const record = () =>
    db.transaction().execute(async (trx) => {
      let count = request.maxCount;
      if (quota) {
        const projectId = ctx.projectId ?? '';
        if (lockFirst) await lockProjectQuota(trx, projectId);
        const scope = { projectId, userId: ctx.userId ?? '', ...(groupId !== null ? { groupId } : {}) };
        const snapshot = await createQuotaSnapshot(trx, quota.config, scope);
        if (guarded && !lockFirst && snapshot.serversLimited) throw new LockFirst();
        count = quota.decide(snapshot);
      }
      const built = request.build(count);
      for (const [index, instance] of built.instances.entries()) {
        // On SQLite every query completes synchronously, so without a turn of the event loop now and
        // then a request for a thousand servers would hold every other client until it was written.
        if (index > 0 && index % YIELD_EVERY === 0) await setImmediate();
        await insertInstance(trx, instance);
        await insertRequestSpec(trx, instance.uuid, built.spec);
        await startAction(trx, ctx, instance.uuid, InstanceAction.CREATE);
        await request.recordEach?.(trx, instance.uuid);
      }
      if (groupId !== null) {
        const uuids = built.instances.map((i) => i.uuid);
        await addServerGroupMembers(trx, groupId, uuids);
      }
      return built;
    });
  // Creates that take the project's quota lock take turns in this process first (common/turns.ts says
  // why): waiting on the row lock, each would hold a pooled connection that reads need.
  const inTurn = () => (lockFirst ? projectTurns.run(ctx.projectId ?? '', record) : record());
  // New rows only, yet MariaDB's index locks can still make concurrent creates deadlock: run again.
  return retryOnLockConflict(async () => {
    try {
      return await inTurn();
    } catch (err) {
      if (!(err instanceof LockFirst)) throw err;
      lockFirst = true;
      return inTurn();
    }
  });
}

/** Rolls back a create that found a limit it must count under the project's lock. */
class LockFirst extends Error {}

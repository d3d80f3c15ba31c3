/**
 * Disk snapshots, a Stratus extension (not in Nova, served at every microversion): the
 * server's root disk as a chain of external qcow2 snapshots, each link holding only what was written
 * since the previous one, taken without pausing the guest.
 *
 *   POST   /servers/{id}/stratus-disk-snapshots        {"disk_snapshot": {"name": ...}}  -> 202, the record
 *   GET    /servers/{id}/stratus-disk-snapshots        -> {"disk_snapshots": [...]}, oldest first
 *   GET    /servers/{id}/stratus-disk-snapshots/{sid}  -> {"disk_snapshot": ...}
 *   DELETE /servers/{id}/stratus-disk-snapshots/{sid}  -> 202; the link is merged into its child
 *   POST   /servers/{id}/action {"revertDiskSnapshot": {"snapshot_id": ...}} -> 202
 *
 * Each change is a server action like createImage: the server must be launched, unlocked and without a
 * task, in a state the operation allows (409 with Nova's message otherwise); the API records the
 * snapshot (status creating or deleting), claims the server with a task, records the instance action and
 * casts to the compute host, which does it and reports the chain back (objects/disk-snapshots.ts says
 * how the statuses end). A request refused after the record was written leaves the record as it was.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../../../common/db/database.ts';
import { Conflict, NotFound } from '../../../common/errors.ts';
import type { DiskSnapshotAction } from '../../../wire/contracts/compute.ts';
import {
  DiskSnapshotStatus,
  changeDiskSnapshotStatus,
  createDiskSnapshotRecord,
  findDiskSnapshot,
  listDiskSnapshots,
  removeDiskSnapshotRecord,
  type DiskSnapshot,
} from '../../../objects/disk-snapshots.ts';
import { InstanceAction } from '../../../objects/instance-actions.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { Instance } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { Name } from '../schema-types.ts';
import { naiveTime } from '../timestamps.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed, runAction, type ActionRule } from './actions.ts';
import { SNAPSHOT_VM_STATES } from './create-image.ts';
import { findServerFor } from './lookup.ts';

const CreateSchema = Type.Object(
  {
    disk_snapshot: Type.Object({ name: Name }, { required: ['name'], additionalProperties: false }),
  },
  { additionalProperties: false },
);
interface CreateBody {
  disk_snapshot: { name: string };
}

const RevertSchema = Type.Object(
  {
    revertDiskSnapshot: Type.Object(
      { snapshot_id: Type.String({ minLength: 1, maxLength: 36 }) },
      { required: ['snapshot_id'], additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
interface RevertBody {
  revertDiskSnapshot: { snapshot_id: string };
}

/** The rule of each operation, its cast naming the snapshot. */
function rule(operation: DiskSnapshotAction, snapshotId: string): ActionRule {
  const rules = {
    create: {
      name: 'createDiskSnapshot',
      action: InstanceAction.CREATE_DISK_SNAPSHOT,
      setTask: TaskState.DISK_SNAPSHOTTING,
    },
    delete: {
      name: 'deleteDiskSnapshot',
      action: InstanceAction.DELETE_DISK_SNAPSHOT,
      setTask: TaskState.DISK_SNAPSHOT_DELETING,
    },
    revert: {
      name: 'revertDiskSnapshot',
      action: InstanceAction.REVERT_DISK_SNAPSHOT,
      setTask: TaskState.DISK_SNAPSHOT_REVERTING,
    },
  } as const;
  return {
    ...rules[operation],
    // A link is taken or merged in the states createImage allows (the qemu driver works live or on files).
    // A revert restarts a running guest or leaves a stopped one off; a paused or suspended guest's memory
    // would not match the reverted disk.
    vmStates: operation === 'revert' ? [VmState.ACTIVE, VmState.STOPPED] : SNAPSHOT_VM_STATES,
    taskStates: [null],
    needsHost: true,
    cast: (deps, request, host, instance) =>
      deps.compute.diskSnapshotAction(request.ctx, host, operation, instance, snapshotId),
  };
}

/** Statuses a delete may start from: a link, a failed delete of one, a failed create (merely forgotten). */
const DELETABLE: readonly DiskSnapshotStatus[] = [
  DiskSnapshotStatus.AVAILABLE,
  DiskSnapshotStatus.ERROR,
  DiskSnapshotStatus.ERROR_DELETING,
];

function view(snapshot: DiskSnapshot) {
  return {
    id: snapshot.uuid,
    name: snapshot.name,
    status: snapshot.status,
    server_id: snapshot.instance_uuid,
    /** Bytes the link takes on its host (what was written between the previous snapshot and this one). */
    size: snapshot.size,
    created_at: naiveTime(snapshot.created_at),
    updated_at: naiveTime(snapshot.updated_at),
  };
}

async function findSnapshot(db: Db, instanceUuid: string, id: string): Promise<DiskSnapshot> {
  const snapshot = await findDiskSnapshot(db, instanceUuid, id);
  if (!snapshot) throw new NotFound(`Disk snapshot ${id} could not be found.`);
  return snapshot;
}

export function registerDiskSnapshotRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const base = '/servers/:id/stratus-disk-snapshots';

  app.post<{ Params: { id: string } }>(base, async (request, reply) => {
    const { disk_snapshot: body } = validateBody<CreateBody>(CreateSchema, request.body);
    const instance = await findServerFor(db, request.ctx, request.params.id, 'compute:stratus-disk-snapshots:create');
    const id = randomUUID();
    const create = rule('create', id);
    assertActionAllowed(instance, create, request.ctx.isAdmin);
    const record = await createDiskSnapshotRecord(db, {
      uuid: id,
      instanceUuid: instance.uuid,
      projectId: instance.project_id,
      userId: request.ctx.userId ?? instance.user_id,
      name: body.name,
    });
    try {
      await runAction(deps, request, instance, create);
    } catch (err) {
      // The server changed under us or its host is unreachable: no link will be taken.
      await removeDiskSnapshotRecord(db, id).catch(() => undefined);
      throw err;
    }
    void reply.code(202);
    return { disk_snapshot: view(record) };
  });

  app.get<{ Params: { id: string } }>(base, async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'compute:stratus-disk-snapshots:index');
    return { disk_snapshots: (await listDiskSnapshots(db, instance.uuid)).map(view) };
  });

  app.get<{ Params: { id: string; sid: string } }>(`${base}/:sid`, async (request) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'compute:stratus-disk-snapshots:show');
    return { disk_snapshot: view(await findSnapshot(db, instance.uuid, request.params.sid)) };
  });

  app.delete<{ Params: { id: string; sid: string } }>(`${base}/:sid`, async (request, reply) => {
    const instance = await findServerFor(db, request.ctx, request.params.id, 'compute:stratus-disk-snapshots:delete');
    const snapshot = await findSnapshot(db, instance.uuid, request.params.sid);
    const remove = rule('delete', snapshot.uuid);
    if (!DELETABLE.includes(snapshot.status)) {
      throw new Conflict(`Cannot delete disk snapshot ${snapshot.uuid} while it is in status ${snapshot.status}`);
    }
    assertActionAllowed(instance, remove, request.ctx.isAdmin);
    if (!(await changeDiskSnapshotStatus(db, snapshot.uuid, DiskSnapshotStatus.DELETING, [snapshot.status]))) {
      throw new Conflict(`Disk snapshot ${snapshot.uuid} changed while it was being deleted; try again`);
    }
    try {
      await runAction(deps, request, instance, remove);
    } catch (err) {
      await changeDiskSnapshotStatus(db, snapshot.uuid, snapshot.status, [DiskSnapshotStatus.DELETING]).catch(
        () => undefined,
      );
      throw err;
    }
    void reply.code(202);
    return reply.send();
  });
}

/** POST /servers/{id}/action {"revertDiskSnapshot": {"snapshot_id": ...}}: an available link only. */
export async function revertDiskSnapshot(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<FastifyReply> {
  const { revertDiskSnapshot: body } = validateBody<RevertBody>(RevertSchema, request.body);
  const snapshot = await findSnapshot(deps.database.db, instance.uuid, body.snapshot_id);
  if (snapshot.status !== DiskSnapshotStatus.AVAILABLE) {
    throw new Conflict(
      `Cannot revert to disk snapshot ${snapshot.uuid} while it is in status ${snapshot.status}; ` +
        'only an available snapshot can be reverted to',
    );
  }
  await runAction(deps, request, instance, rule('revert', snapshot.uuid));
  void reply.code(202);
  return reply.send();
}

/**
 * The conductor's RPC contract: the build cast from the API, and the calls through which compute hosts,
 * which hold no database credentials, read and write state (Nova's conductor/rpcapi.py).
 */
import { Type, type Static } from 'typebox';
import type { RequestContext } from '../common/context.ts';
import { endpoint, type RpcClient, type RpcEndpoints } from '../common/rpc/index.ts';
import {
  InstanceChangesSchema,
  InstancePayloadSchema,
  type InstanceChangesPayload,
  type InstancePayload,
} from '../compute/instance-payload.ts';
import { DiskSnapshotLinkSchema, type DiskSnapshotLink } from '../compute/disk-snapshot-link.ts';
import { SERVICE_BINARIES, type ServiceBinary } from '../objects/services.ts';
import { NodeReportSchema, type NodeReport } from '../placement/node-report.ts';
import { RequestSpecSchema, SelectionSchema, type RequestSpec, type Selection } from '../scheduler/request-spec.ts';
import type { ConductorManager } from './manager.ts';

export const CONDUCTOR_TOPIC = 'conductor';

const Uuid = Type.String({ minLength: 1 });
const TaskStates = Type.Array(Type.Union([Type.String(), Type.Null()]));
const ActionError = Type.Object({ message: Type.String(), traceback: Type.String() });
/** An instance action event recorded in the same round trip as a state change (saves a call per build step). */
const EventWithUpdate = Type.Object({
  event: Type.String(),
  phase: Type.Union([Type.Literal('start'), Type.Literal('finish')]),
  host: Type.String(),
});

const Args = {
  build_instances: Type.Object({
    instance_uuids: Type.Array(Uuid, { minItems: 1 }),
    // What the API just recorded, so the conductor need not read it back (Nova passes the objects too).
    // Optional: without them the conductor reads the request spec and the instances from the database.
    request_spec: Type.Optional(RequestSpecSchema),
    instances: Type.Optional(Type.Array(InstancePayloadSchema)),
  }),
  service_heartbeat: Type.Object({
    host: Type.String(),
    binary: Type.Union(SERVICE_BINARIES.map((b) => Type.Literal(b))),
    topic: Type.String(),
  }),
  report_nodes: Type.Object({ host: Type.String(), nodes: Type.Array(NodeReportSchema) }),
  instance_update: Type.Object({
    uuid: Uuid,
    changes: InstanceChangesSchema,
    expected_task_state: Type.Optional(TaskStates),
    /** Also guard on vm_state (the power-state sync must not undo a start that raced with it). */
    expected_vm_state: Type.Optional(Type.Array(Type.String())),
    event: Type.Optional(EventWithUpdate),
  }),
  instance_deleted: Type.Object({ uuid: Uuid }),
  instances_on_host: Type.Object({ host: Type.String(), uuid: Type.Optional(Uuid) }),
  instances_by_uuid: Type.Object({ uuids: Type.Array(Uuid) }),
  start_instance_action: Type.Object({ uuid: Uuid, action: Type.String({ minLength: 1 }) }),
  action_event: Type.Object({
    uuid: Uuid,
    event: Type.String(),
    phase: Type.Union([Type.Literal('start'), Type.Literal('finish')]),
    host: Type.String(),
    error: Type.Optional(ActionError),
  }),
  record_fault: Type.Object({
    uuid: Uuid,
    code: Type.Integer(),
    message: Type.String(),
    details: Type.String(),
    host: Type.String(),
  }),
  reschedule_build: Type.Object({
    uuid: Uuid,
    host: Type.String(),
    node: Type.String(),
    attempt: Type.Integer({ minimum: 1 }),
    alternates: Type.Array(SelectionSchema),
    error: ActionError,
    /** The failure is the request's, not the host's (a corrupt image): ERROR at once, no other host. */
    abort: Type.Optional(Type.Boolean()),
  }),
  sync_disk_snapshots: Type.Object({
    uuid: Uuid,
    /** The chain as the compute host's driver reports it, oldest link first; null if it could not tell. */
    chain: Type.Union([Type.Array(DiskSnapshotLinkSchema), Type.Null()]),
  }),
};

export type ActionEventWithUpdate = Static<typeof EventWithUpdate>;

export function conductorEndpoints(manager: ConductorManager): RpcEndpoints {
  return {
    build_instances: endpoint(Args.build_instances, (ctx, a) =>
      manager.buildInstances(ctx, a.instance_uuids, a.request_spec, a.instances),
    ),
    service_heartbeat: endpoint(Args.service_heartbeat, (ctx, a) =>
      manager.serviceHeartbeat(a.host, a.binary, a.topic),
    ),
    report_nodes: endpoint(Args.report_nodes, (ctx, a) => manager.reportNodes(a.host, a.nodes)),
    instance_update: endpoint(Args.instance_update, (ctx, a) =>
      manager.instanceUpdate(ctx, a.uuid, a.changes, a.expected_task_state, a.event, a.expected_vm_state),
    ),
    instance_deleted: endpoint(Args.instance_deleted, (ctx, a) => manager.instanceDeleted(ctx, a.uuid)),
    instances_on_host: endpoint(Args.instances_on_host, (ctx, a) => manager.instancesOnHost(a.host, a.uuid)),
    instances_by_uuid: endpoint(Args.instances_by_uuid, (ctx, a) => manager.instancesByUuid(a.uuids)),
    start_instance_action: endpoint(Args.start_instance_action, (ctx, a) =>
      manager.startInstanceAction(ctx, a.uuid, a.action),
    ),
    action_event: endpoint(Args.action_event, (ctx, a) =>
      manager.actionEvent(ctx, a.uuid, a.event, a.phase, a.host, a.error),
    ),
    record_fault: endpoint(Args.record_fault, (ctx, a) => manager.recordFault(a.uuid, a)),
    reschedule_build: endpoint(Args.reschedule_build, (ctx, a) => manager.rescheduleBuild(ctx, a)),
    sync_disk_snapshots: endpoint(Args.sync_disk_snapshots, (ctx, a) => manager.syncDiskSnapshots(a.uuid, a.chain)),
  };
}

export type RescheduleRequest = {
  uuid: string;
  host: string;
  node: string;
  attempt: number;
  alternates: Selection[];
  error: { message: string; traceback: string };
  abort?: boolean;
};

/** The typed client of the conductor, for the API and the compute hosts. */
export class ConductorRpcApi {
  private readonly target = { topic: CONDUCTOR_TOPIC };
  constructor(private readonly client: RpcClient) {}

  /** `spec` and `instances` are what the caller just recorded; the conductor reads them itself if absent. */
  buildInstances(
    ctx: RequestContext,
    instanceUuids: readonly string[],
    spec?: RequestSpec,
    instances?: readonly InstancePayload[],
  ): Promise<void> {
    return this.client.cast(ctx, this.target, 'build_instances', {
      instance_uuids: instanceUuids,
      ...(spec ? { request_spec: spec } : {}),
      ...(instances ? { instances } : {}),
    });
  }

  serviceHeartbeat(ctx: RequestContext, host: string, binary: ServiceBinary, topic: string): Promise<void> {
    return this.client.call(ctx, this.target, 'service_heartbeat', { host, binary, topic });
  }

  reportNodes(ctx: RequestContext, host: string, nodes: NodeReport[]): Promise<void> {
    return this.client.call(ctx, this.target, 'report_nodes', { host, nodes });
  }

  /**
   * A compute host's state change, guarded by the task states it expects, with an action event in the
   * same round trip. Nothing comes back: no caller needs the instance, and reading it cost a query.
   */
  async instanceUpdate(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expectedTaskState?: readonly (string | null)[],
    event?: ActionEventWithUpdate,
    expectedVmState?: readonly string[],
  ): Promise<void> {
    await this.client.call(ctx, this.target, 'instance_update', {
      uuid,
      changes,
      ...(expectedTaskState ? { expected_task_state: expectedTaskState } : {}),
      ...(expectedVmState ? { expected_vm_state: expectedVmState } : {}),
      ...(event ? { event } : {}),
    });
  }

  instanceDeleted(ctx: RequestContext, uuid: string): Promise<void> {
    return this.client.call(ctx, this.target, 'instance_deleted', { uuid });
  }

  /** The live instances of `host`; with `uuid`, that one only (none if it is not live there). */
  instancesOnHost(ctx: RequestContext, host: string, uuid?: string): Promise<InstancePayload[]> {
    return this.client.call(ctx, this.target, 'instances_on_host', uuid ? { host, uuid } : { host });
  }

  /** What the database says of `uuids`, deleted rows included; an absent uuid is unknown to it. */
  instancesByUuid(
    ctx: RequestContext,
    uuids: readonly string[],
  ): Promise<{ uuid: string; host: string | null; deleted_at: string | null }[]> {
    return this.client.call(ctx, this.target, 'instances_by_uuid', { uuids });
  }

  /** Records an action the compute host starts by itself, under ctx's request id. */
  startInstanceAction(ctx: RequestContext, uuid: string, action: string): Promise<void> {
    return this.client.call(ctx, this.target, 'start_instance_action', { uuid, action });
  }

  actionEvent(
    ctx: RequestContext,
    args: {
      uuid: string;
      event: string;
      phase: 'start' | 'finish';
      host: string;
      error?: { message: string; traceback: string };
    },
  ): Promise<void> {
    return this.client.call(ctx, this.target, 'action_event', args);
  }

  recordFault(
    ctx: RequestContext,
    args: { uuid: string; code: number; message: string; details: string; host: string },
  ): Promise<void> {
    return this.client.call(ctx, this.target, 'record_fault', args);
  }

  rescheduleBuild(ctx: RequestContext, args: RescheduleRequest): Promise<void> {
    return this.client.cast(ctx, this.target, 'reschedule_build', args);
  }

  /** The instance's disk snapshot records brought in line with the chain its driver reports. */
  syncDiskSnapshots(ctx: RequestContext, uuid: string, chain: readonly DiskSnapshotLink[] | null): Promise<void> {
    return this.client.call(ctx, this.target, 'sync_disk_snapshots', { uuid, chain });
  }
}

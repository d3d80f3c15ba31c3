/**
 * The compute service's RPC contract: casts to `compute.<host>` from the API and the conductor
 * (Nova's compute/rpcapi.py), and the endpoints its server exposes.
 */
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { RequestContext } from '../common/context.ts';
import { endpoint, type RpcClient, type RpcEndpoints } from '../common/rpc/index.ts';
import { SelectionSchema, type Selection } from '../scheduler/request-spec.ts';
import { InstancePayloadSchema, type InstancePayload } from './instance-payload.ts';
import type { ComputeManager, DiskSnapshotAction, GuestStateAction } from './manager.ts';
import type { VncConsole } from './virt/driver.ts';

export const COMPUTE_TOPIC = 'compute';

const BuildArgs = Type.Object({
  instance: InstancePayloadSchema,
  node: Type.String(),
  /** Where to try next if this build fails, without asking the scheduler again. */
  alternates: Type.Array(SelectionSchema),
  attempt: Type.Integer({ minimum: 1 }),
});
const InstanceArgs = Type.Object({ instance: InstancePayloadSchema });
const RebootArgs = Type.Object({
  instance: InstancePayloadSchema,
  reboot_type: Type.Union([Type.Literal('SOFT'), Type.Literal('HARD')]),
});

const SnapshotArgs = Type.Object({ instance: InstancePayloadSchema, image_id: Type.String({ minLength: 1 }) });
const DiskSnapshotArgs = Type.Object({ instance: InstancePayloadSchema, snapshot_id: Type.String({ minLength: 1 }) });
const isVncConsole = Compile(Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 1, maximum: 65535 }) }));

const ConsoleArgs = Type.Object({
  instance: InstancePayloadSchema,
  tail_length: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
});

export function computeEndpoints(manager: ComputeManager): RpcEndpoints {
  return {
    build_and_run_instance: endpoint(BuildArgs, (ctx, a) =>
      manager.buildAndRunInstance(ctx, a.instance, a.node, a.alternates, a.attempt),
    ),
    terminate_instance: endpoint(InstanceArgs, (ctx, a) => manager.terminateInstance(ctx, a.instance)),
    stop_instance: endpoint(InstanceArgs, (ctx, a) => manager.stopInstance(ctx, a.instance)),
    start_instance: endpoint(InstanceArgs, (ctx, a) => manager.startInstance(ctx, a.instance)),
    reboot_instance: endpoint(RebootArgs, (ctx, a) => manager.rebootInstance(ctx, a.instance, a.reboot_type)),
    pause_instance: endpoint(InstanceArgs, (ctx, a) => manager.guestStateAction(ctx, 'pause', a.instance)),
    unpause_instance: endpoint(InstanceArgs, (ctx, a) => manager.guestStateAction(ctx, 'unpause', a.instance)),
    suspend_instance: endpoint(InstanceArgs, (ctx, a) => manager.guestStateAction(ctx, 'suspend', a.instance)),
    resume_instance: endpoint(InstanceArgs, (ctx, a) => manager.guestStateAction(ctx, 'resume', a.instance)),
    snapshot_instance: endpoint(SnapshotArgs, (ctx, a) => manager.snapshotInstance(ctx, a.instance, a.image_id)),
    create_disk_snapshot: endpoint(DiskSnapshotArgs, (ctx, a) =>
      manager.diskSnapshotAction(ctx, 'create', a.instance, a.snapshot_id),
    ),
    delete_disk_snapshot: endpoint(DiskSnapshotArgs, (ctx, a) =>
      manager.diskSnapshotAction(ctx, 'delete', a.instance, a.snapshot_id),
    ),
    revert_disk_snapshot: endpoint(DiskSnapshotArgs, (ctx, a) =>
      manager.diskSnapshotAction(ctx, 'revert', a.instance, a.snapshot_id),
    ),
    get_console_output: endpoint(ConsoleArgs, (_ctx, a) => manager.getConsoleOutput(a.instance.uuid, a.tail_length)),
    get_vnc_console: endpoint(InstanceArgs, (_ctx, a) => manager.getVncConsole(a.instance.uuid)),
  };
}

export class ComputeRpcApi {
  constructor(private readonly client: RpcClient) {}

  private target(host: string) {
    return { topic: COMPUTE_TOPIC, server: host };
  }

  buildAndRunInstance(
    ctx: RequestContext,
    host: string,
    args: { instance: InstancePayload; node: string; alternates: Selection[]; attempt: number },
  ): Promise<void> {
    return this.client.cast(ctx, this.target(host), 'build_and_run_instance', args);
  }

  terminateInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.client.cast(ctx, this.target(host), 'terminate_instance', { instance });
  }

  stopInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.client.cast(ctx, this.target(host), 'stop_instance', { instance });
  }

  startInstance(ctx: RequestContext, host: string, instance: InstancePayload): Promise<void> {
    return this.client.cast(ctx, this.target(host), 'start_instance', { instance });
  }

  rebootInstance(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    rebootType: 'SOFT' | 'HARD',
  ): Promise<void> {
    return this.client.cast(ctx, this.target(host), 'reboot_instance', { instance, reboot_type: rebootType });
  }

  /** pause_instance, unpause_instance, suspend_instance or resume_instance. */
  guestStateAction(
    ctx: RequestContext,
    host: string,
    action: GuestStateAction,
    instance: InstancePayload,
  ): Promise<void> {
    return this.client.cast(ctx, this.target(host), `${action}_instance`, { instance });
  }

  /** createImage: the image (queued) exists; compute captures the disk and uploads it into it. */
  snapshotInstance(ctx: RequestContext, host: string, instance: InstancePayload, imageId: string): Promise<void> {
    return this.client.cast(ctx, this.target(host), 'snapshot_instance', { instance, image_id: imageId });
  }

  /**
   * Disk snapshots (a Stratus extension): create_disk_snapshot, delete_disk_snapshot or
   * revert_disk_snapshot. The API recorded the snapshot and set the task; compute does it and reports.
   */
  diskSnapshotAction(
    ctx: RequestContext,
    host: string,
    action: DiskSnapshotAction,
    instance: InstancePayload,
    snapshotId: string,
  ): Promise<void> {
    return this.client.cast(ctx, this.target(host), `${action}_disk_snapshot`, { instance, snapshot_id: snapshotId });
  }

  /** A call: the answer is the console text. */
  async getConsoleOutput(
    ctx: RequestContext,
    host: string,
    instance: InstancePayload,
    tailLength: number | null,
  ): Promise<string> {
    const output = await this.client.call(ctx, this.target(host), 'get_console_output', {
      instance,
      tail_length: tailLength,
    });
    if (typeof output !== 'string') throw new Error(`compute ${host} answered get_console_output with no text`);
    return output;
  }

  /** A call: the answer is where the console proxy reaches the guest's VNC server. */
  async getVncConsole(ctx: RequestContext, host: string, instance: InstancePayload): Promise<VncConsole> {
    const answer = await this.client.call(ctx, this.target(host), 'get_vnc_console', { instance });
    if (!isVncConsole.Check(answer)) {
      throw new Error(`compute ${host} answered get_vnc_console without a host and port`);
    }
    return answer;
  }
}

/**
 * The compute service's RPC contract: casts to `compute.<host>` from the API and the conductor
 * (Nova's compute/rpcapi.py), and the endpoints its server exposes.
 */
import { Type } from 'typebox';
import type { RequestContext } from '../common/context.ts';
import { endpoint, type RpcClient, type RpcEndpoints } from '../common/rpc/index.ts';
import { SelectionSchema, type Selection } from '../scheduler/request-spec.ts';
import { InstancePayloadSchema, type InstancePayload } from './instance-payload.ts';
import type { ComputeManager } from './manager.ts';

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

export function computeEndpoints(manager: ComputeManager): RpcEndpoints {
  return {
    build_and_run_instance: endpoint(BuildArgs, (ctx, a) =>
      manager.buildAndRunInstance(ctx, a.instance, a.node, a.alternates, a.attempt),
    ),
    terminate_instance: endpoint(InstanceArgs, (ctx, a) => manager.terminateInstance(ctx, a.instance)),
    stop_instance: endpoint(InstanceArgs, (ctx, a) => manager.stopInstance(ctx, a.instance)),
    start_instance: endpoint(InstanceArgs, (ctx, a) => manager.startInstance(ctx, a.instance)),
    reboot_instance: endpoint(RebootArgs, (ctx, a) => manager.rebootInstance(ctx, a.instance, a.reboot_type)),
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
}

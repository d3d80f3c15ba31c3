/**
 * The scheduler's RPC contract: the schemas of its methods (checked by its server) and the typed client
 * the conductor calls them through (Nova's scheduler/rpcapi.py).
 */
import { Type } from 'typebox';
import type { RequestContext } from '../common/context.ts';
import { endpoint, type RpcClient, type RpcEndpoints } from '../common/rpc/index.ts';
import type { SchedulerManager } from './manager.ts';
import { RequestSpecSchema, type RequestSpec, type Selection } from './request-spec.ts';

export const SCHEDULER_TOPIC = 'scheduler';

const SelectDestinationsArgs = Type.Object({
  request_spec: RequestSpecSchema,
  instance_uuids: Type.Array(Type.String(), { minItems: 1 }),
});

export function schedulerEndpoints(manager: SchedulerManager): RpcEndpoints {
  return {
    select_destinations: endpoint(SelectDestinationsArgs, (ctx, args) =>
      manager.selectDestinations(ctx, args.request_spec, args.instance_uuids),
    ),
  };
}

export class SchedulerRpcApi {
  constructor(private readonly client: RpcClient) {}

  selectDestinations(ctx: RequestContext, spec: RequestSpec, instanceUuids: readonly string[]): Promise<Selection[][]> {
    return this.client.call<Selection[][]>(ctx, { topic: SCHEDULER_TOPIC }, 'select_destinations', {
      request_spec: spec,
      instance_uuids: instanceUuids,
    });
  }
}

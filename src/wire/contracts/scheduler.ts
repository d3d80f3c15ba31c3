/**
 * The scheduler's RPC contract (Nova's scheduler/rpcapi.py) and the typed client the conductor calls it
 * through. History: 1.0 the first release. 1.1 carries RequestSpec 1.1 (requested_destination).
 */
import { Type } from 'typebox';
import type { RequestContext } from '../../common/context.ts';
import type { RpcClient } from '../../common/rpc/index.ts';
import { call, ContractClient, defineContract, type VersionCap } from '../contract.ts';
import { RequestSpecSchema, SelectionSchema, type RequestSpec, type Selection } from '../messages/request-spec.ts';

export const schedulerContract = defineContract({
  topic: 'scheduler',
  version: '1.1',
  methods: {
    /** One list per instance: the chosen host first, then its alternates. */
    select_destinations: call(
      '1.0',
      Type.Object({
        request_spec: RequestSpecSchema,
        instance_uuids: Type.Array(Type.String(), { minItems: 1 }),
      }),
      Type.Array(Type.Array(SelectionSchema)),
    ),
  },
});

export class SchedulerRpcApi {
  private readonly rpc: ContractClient<typeof schedulerContract.methods>;

  /** `peers`: the highest scheduler version the schedulers speak ([upgrade_levels] scheduler). */
  constructor(client: RpcClient, peers?: VersionCap) {
    this.rpc = new ContractClient(client, schedulerContract, peers);
  }

  selectDestinations(ctx: RequestContext, spec: RequestSpec, instanceUuids: readonly string[]): Promise<Selection[][]> {
    return this.rpc.call(ctx, { topic: schedulerContract.topic }, 'select_destinations', {
      request_spec: spec,
      instance_uuids: [...instanceUuids],
    });
  }
}

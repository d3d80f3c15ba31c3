/** An instance as the compute manager receives it over RPC: a small one being built on host `h`, unless told. */
import { InstancePayloadShape, type InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';

export function instancePayload(
  uuid: string,
  overrides: Partial<InstancePayload> = {},
  /** Flavor fields to change, over the small default flavor. */
  flavor: Partial<InstancePayload['flavor']> = {},
): InstancePayload {
  return InstancePayloadShape.build({
    uuid,
    display_name: 'vm',
    hostname: 'vm',
    project_id: 'p1',
    user_id: 'u1',
    image_ref: 'img',
    flavor: {
      flavorid: 'f',
      name: 'f',
      vcpus: 1,
      memory_mb: 64,
      root_gb: 1,
      ephemeral_gb: 0,
      swap: 0,
      extra_specs: {},
      ...flavor,
    },
    vm_state: VmState.BUILDING,
    task_state: TaskState.SCHEDULING,
    power_state: PowerState.NOSTATE,
    host: 'h',
    node: 'h',
    launched_at: null,
    metadata: {},
    storage_tier: 'hdd',
    ...overrides,
  });
}

/** Turns instances into the payload compute hosts receive. */
import { InstancePayloadShape, type InstancePayload } from '../wire/messages/instance-payload.ts';
import type { FlavorSpec } from '../wire/messages/request-spec.ts';
import type { Flavor } from './flavors.ts';
import { PowerState, TaskState, VmState } from '../wire/messages/instance-states.ts';
import type { Instance, NewInstance } from './instances.ts';

/** The flavor snapshot as messages carry it (request specs and instance payloads alike). */
export function flavorSpec(f: Flavor): FlavorSpec {
  return {
    flavorid: f.flavorid,
    name: f.name,
    vcpus: f.vcpus,
    memory_mb: f.memory_mb,
    root_gb: f.root_gb,
    ephemeral_gb: f.ephemeral_gb,
    swap: f.swap,
    extra_specs: { ...f.extra_specs },
  };
}

type Identity = Pick<NewInstance, 'uuid' | 'display_name' | 'hostname' | 'project_id' | 'user_id' | 'image_ref'> & {
  readonly flavor: Flavor;
  readonly metadata: Readonly<Record<string, string>>;
  readonly storage_tier: string;
};
type State = Pick<InstancePayload, 'vm_state' | 'task_state' | 'power_state' | 'host' | 'node' | 'launched_at'>;

function payload(i: Identity, state: State): InstancePayload {
  return InstancePayloadShape.build({
    uuid: i.uuid,
    display_name: i.display_name,
    hostname: i.hostname,
    project_id: i.project_id,
    user_id: i.user_id,
    image_ref: i.image_ref,
    flavor: flavorSpec(i.flavor),
    ...state,
    storage_tier: i.storage_tier,
    metadata: { ...i.metadata },
  });
}

export function instancePayload(instance: Instance): InstancePayload {
  const { vm_state, task_state, power_state, host, node, launched_at } = instance;
  return payload(instance, { vm_state, task_state, power_state, host, node, launched_at });
}

/** The payload of an instance just recorded by `insertInstance` (BUILDING, scheduling, on no host yet). */
export function newInstancePayload(instance: NewInstance): InstancePayload {
  return payload(instance, {
    vm_state: VmState.BUILDING,
    task_state: TaskState.SCHEDULING,
    power_state: PowerState.NOSTATE,
    host: null,
    node: null,
    launched_at: null,
  });
}

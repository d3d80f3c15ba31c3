/** Turns an instance row into the payload compute hosts receive. */
import type { InstancePayload } from '../compute/instance-payload.ts';
import type { Instance } from './instances.ts';

export function instancePayload(instance: Instance): InstancePayload {
  const f = instance.flavor;
  return {
    uuid: instance.uuid,
    display_name: instance.display_name,
    hostname: instance.hostname,
    project_id: instance.project_id,
    user_id: instance.user_id,
    image_ref: instance.image_ref,
    flavor: {
      flavorid: f.flavorid,
      name: f.name,
      vcpus: f.vcpus,
      memory_mb: f.memory_mb,
      root_gb: f.root_gb,
      ephemeral_gb: f.ephemeral_gb,
      swap: f.swap,
      extra_specs: { ...f.extra_specs },
    },
    vm_state: instance.vm_state,
    task_state: instance.task_state,
    power_state: instance.power_state,
    host: instance.host,
    node: instance.node,
    launched_at: instance.launched_at,
    metadata: { ...instance.metadata },
  };
}

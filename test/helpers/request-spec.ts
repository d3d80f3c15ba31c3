/** Request specs for scheduler tests: a 1 vCPU / 512 MB / 1 GB flavor unless told otherwise. */
import { RequestSpecShape, type RequestSpec } from '../../src/wire/messages/request-spec.ts';

export function testSpec(flavor: Partial<RequestSpec['flavor']> = {}, extra: Partial<RequestSpec> = {}): RequestSpec {
  return RequestSpecShape.build({
    project_id: 'p1',
    user_id: 'u1',
    flavor: {
      flavorid: 'f',
      name: 'f',
      vcpus: 1,
      memory_mb: 512,
      root_gb: 1,
      ephemeral_gb: 0,
      swap: 0,
      extra_specs: {},
      ...flavor,
    },
    image: { id: 'img', properties: {} },
    availability_zone: null,
    scheduler_hints: {},
    num_instances: 1,
    storage_tier: 'hdd',
    ignore_hosts: [],
    ...extra,
  });
}

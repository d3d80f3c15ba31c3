/**
 * GET /servers/{id}/diagnostics (os-server-diagnostics), admin-only by default as in Nova. The server's
 * compute host is asked with a call; it answers for a running guest only (409 otherwise, as is a server
 * with no host). From 2.48 the answer has Nova's standard keys; before, the free-form keys libvirt gave
 * (`cpu0_time`, `memory` in KiB, `vda_read`, ...), built here from the same figures.
 */
import type { FastifyRequest } from 'fastify';
import { Conflict, InstanceInvalidState } from '../../../common/errors.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import type { Instance } from '../../../objects/instances.ts';
import { powerStateName, type GuestDiagnostics } from '../../../wire/messages/guest-diagnostics.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize, ownedBy } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { findServer } from './lookup.ts';

const POLICY = 'os_compute_api:os-server-diagnostics';

export function registerServerDiagnosticsRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  app.get<{ Params: { id: string } }>('/servers/:id/diagnostics', async (request) => {
    const instance = await findServer(deps.database.db, request.ctx, request.params.id);
    authorize(request.ctx, POLICY, ownedBy(instance));
    const figures = await askHost(deps, request, instance);
    return atLeast(request, '2.48') ? standardView(figures) : legacyView(figures);
  });
}

async function askHost(deps: ComputeApiDeps, request: FastifyRequest, instance: Instance): Promise<GuestDiagnostics> {
  if (!instance.host) throw new Conflict(`Instance ${instance.uuid} is not ready`);
  try {
    return await deps.compute.getDiagnostics(request.ctx, instance.host, instancePayload(instance));
  } catch (err) {
    if (!(err instanceof InstanceInvalidState)) throw err;
    // Nova's words for the power state the compute host found the guest in (its recorded one).
    throw new Conflict(
      `Cannot 'get_diagnostics' instance ${instance.uuid} while it is in power state ` +
        powerStateName(instance.power_state),
    );
  }
}

/** Nova's 2.48 body: the figures without the disks' device names. */
function standardView(d: GuestDiagnostics): Record<string, unknown> {
  return {
    state: d.state,
    driver: d.driver,
    hypervisor: d.hypervisor,
    hypervisor_os: d.hypervisor_os,
    uptime: d.uptime,
    config_drive: d.config_drive,
    num_cpus: d.cpu_details.length,
    num_nics: d.nic_details.length,
    num_disks: d.disk_details.length,
    memory_details: d.memory_details,
    cpu_details: d.cpu_details,
    nic_details: d.nic_details,
    disk_details: d.disk_details.map(({ device: _device, ...counters }) => counters),
  };
}

/** The free-form body before 2.48, in the keys Nova's libvirt driver used. */
function legacyView(d: GuestDiagnostics): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const cpu of d.cpu_details) body[`cpu${cpu.id}_time`] = cpu.time;
  if (d.memory_details.maximum !== null) body['memory'] = d.memory_details.maximum * 1024;
  for (const disk of d.disk_details) {
    body[`${disk.device}_read`] = disk.read_bytes;
    body[`${disk.device}_read_req`] = disk.read_requests;
    body[`${disk.device}_write`] = disk.write_bytes;
    body[`${disk.device}_write_req`] = disk.write_requests;
    body[`${disk.device}_errors`] = disk.errors_count;
  }
  return body;
}

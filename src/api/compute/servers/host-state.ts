/**
 * The state of the compute services that host servers: whether a server's host can be reached (delete
 * falls back to a local delete when it cannot) and the host_status admins see on servers.
 */
import type { Db } from '../../../common/db/database.ts';
import { isServiceUp, listServices, type ServiceRecord } from '../../../objects/services.ts';

export const COMPUTE_BINARY = 'stratus-compute';

export async function computeServicesByHost(db: Db): Promise<Map<string, ServiceRecord>> {
  const services = await listServices(db, { binary: COMPUTE_BINARY });
  return new Map(services.map((s) => [s.host, s]));
}

export async function computeServiceOf(db: Db, host: string): Promise<ServiceRecord | undefined> {
  return (await listServices(db, { host, binary: COMPUTE_BINARY }))[0];
}

/** Nova's host_status: DOWN (forced), MAINTENANCE (disabled), UP, UNKNOWN (no heartbeat), '' (no host). */
export function hostStatus(service: ServiceRecord | undefined, serviceDownTime: number): string {
  if (!service) return '';
  if (service.forced_down) return 'DOWN';
  if (service.disabled) return 'MAINTENANCE';
  return isServiceUp(service, serviceDownTime) ? 'UP' : 'UNKNOWN';
}

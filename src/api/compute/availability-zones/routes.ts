/**
 * os-availability-zone: the zones servers can be created in, for everyone, and for admins (`/detail`)
 * each zone's hosts with the state of their services. As in Nova, a zone exists through the services
 * in it: a compute host is in the zone of its aggregates or else `[DEFAULT] default_availability_zone`;
 * every other service is in the 'internal' zone, which only the detailed view shows. A zone whose
 * services are all disabled is listed as not available.
 */
import type { Config } from '../../../common/config/load-config.ts';
import type { Db } from '../../../common/db/database.ts';
import { availabilityZonesOfHosts } from '../../../objects/aggregates.ts';
import { isServiceUp, listServices, type ServiceRecord } from '../../../objects/services.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { COMPUTE_BINARY } from '../servers/host-state.ts';
import { naiveTime } from '../timestamps.ts';

/** Nova's [DEFAULT] internal_service_availability_zone. */
export const INTERNAL_ZONE = 'internal';
/** Not shown in the zones' hosts, as Nova leaves out its API services. */
const API_BINARIES = ['stratus-api'];

export interface ZonedService {
  readonly service: ServiceRecord;
  readonly zone: string;
}

/** Each service with its zone. */
export async function zonesOfServices(
  db: Db,
  config: Config,
  services: readonly ServiceRecord[],
): Promise<ZonedService[]> {
  const computeHosts = services.filter((s) => s.binary === COMPUTE_BINARY).map((s) => s.host);
  const zones = await availabilityZonesOfHosts(db, computeHosts, config.DEFAULT.default_availability_zone);
  return services.map((service) => ({
    service,
    zone: service.binary === COMPUTE_BINARY ? zones.get(service.host)! : INTERNAL_ZONE,
  }));
}

/** Every service with its zone. */
export async function servicesWithZones(db: Db, config: Config): Promise<ZonedService[]> {
  return zonesOfServices(db, config, await listServices(db));
}

/** Zones with an enabled service, and those whose services are all disabled; each sorted. */
function splitZones(services: readonly ZonedService[]): { available: string[]; unavailable: string[] } {
  const available = new Set(services.filter((s) => !s.service.disabled).map((s) => s.zone));
  const unavailable = new Set(services.filter((s) => !available.has(s.zone)).map((s) => s.zone));
  return { available: [...available].sort(), unavailable: [...unavailable].sort() };
}

/** The zones a server may be created in: those of enabled compute services. */
export async function availableZones(db: Db, config: Config): Promise<Set<string>> {
  const computes = (await servicesWithZones(db, config)).filter((s) => s.service.binary === COMPUTE_BINARY);
  return new Set(splitZones(computes).available);
}

function zoneEntry(zoneName: string, available: boolean, hosts: Record<string, unknown> | null) {
  return { zoneName, zoneState: { available }, hosts };
}

export function registerAvailabilityZoneRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const config = deps.config;

  app.get('/os-availability-zone', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-availability-zone:list');
    const { available, unavailable } = splitZones(await servicesWithZones(db, config));
    const visible = (zones: string[]) => zones.filter((z) => z !== INTERNAL_ZONE);
    return {
      availabilityZoneInfo: [
        ...visible(available).map((zone) => zoneEntry(zone, true, null)),
        ...visible(unavailable).map((zone) => zoneEntry(zone, false, null)),
      ],
    };
  });

  app.get('/os-availability-zone/detail', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-availability-zone:detail');
    const services = await servicesWithZones(db, config);
    const { available, unavailable } = splitZones(services);
    const hostsOf = (zone: string) => {
      const hosts: Record<string, Record<string, unknown>> = {};
      for (const { service, zone: z } of services) {
        if (z !== zone || service.disabled || API_BINARIES.includes(service.binary)) continue;
        hosts[service.host] ??= {};
        hosts[service.host]![service.binary] = {
          available: isServiceUp(service, config.DEFAULT.service_down_time),
          active: true,
          updated_at: naiveTime(service.last_seen_up ?? service.updated_at),
        };
      }
      return hosts;
    };
    return {
      availabilityZoneInfo: [
        ...available.map((zone) => zoneEntry(zone, true, hostsOf(zone))),
        ...unavailable.map((zone) => zoneEntry(zone, false, null)),
      ],
    };
  });
}

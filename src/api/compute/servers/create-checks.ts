/**
 * The checks POST /servers makes before anything is written, with Nova's messages: counts, zone,
 * server group, flavor (exists, enabled, visible to the project), image (exists, active, fits the flavor) and the
 * shape of the network request. Each failure is a 4xx that leaves the database untouched.
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Config } from '../../../common/config/load-config.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Forbidden, NotFound } from '../../../common/errors.ts';
import { flavorAccessList, getFlavor, type Flavor } from '../../../objects/flavors.ts';
import { findKeyPair, type KeyPair } from '../../../objects/key-pairs.ts';
import { findServerGroup, type ServerGroup } from '../../../objects/server-groups.ts';
import { parseJsonQuery } from '../../../scheduler/filters/json-query.ts';
import { authorize, permits } from '../../policy.ts';
import { availableZones } from '../availability-zones/routes.ts';
import type { ImageLookup, ImageSummary } from '../image-lookup.ts';
import { toInt } from '../schema-types.ts';
import { isUuidLike } from '../validate.ts';
import type { CreateServerBody } from './schemas.ts';

const GIB = 1024 * 1024 * 1024;

/**
 * min_count and max_count, with max_count lowered to `[api] max_servers_per_request` as Nova lowers it to
 * what the quota leaves room for. Why a limit beside the quotas: with unlimited quotas (an admin's
 * project, a private cloud) the schema allows 2^31-1 servers in one request, and writing 100,000 rows
 * took an API process away from every other client for minutes.
 */
export function instanceCounts(server: CreateServerBody['server'], perRequest: number): { min: number; max: number } {
  const min = toInt(server.min_count ?? 1);
  const max = toInt(server.max_count ?? min);
  if (min > max) throw new BadRequest('min_count must be <= max_count');
  if (min > perRequest) {
    throw new BadRequest(
      `min_count ${min} is more than the ${perRequest} servers one request may create; create them in several requests.`,
    );
  }
  return { min, max: Math.min(max, perRequest) };
}

/** The zone to schedule in: the one asked for (which must exist) or `[DEFAULT] default_schedule_zone`. */
export async function availabilityZone(
  db: Db,
  ctx: RequestContext,
  config: Config,
  requested: string | undefined,
): Promise<string | null> {
  if (requested && requested.includes(':')) {
    // Nova's `zone:host:node` form forces a host; only admins may, and Stratus' scheduler cannot yet.
    if (requested.split(':').length > 3)
      throw new BadRequest('Invalid input received: Unable to parse availability_zone');
    authorize(ctx, 'os_compute_api:servers:create:forced_host');
    throw new BadRequest(
      `Forcing a host through availability_zone '${requested}' is not supported; give the zone alone.`,
    );
  }
  const zone = requested || config.DEFAULT.default_schedule_zone;
  if (!zone) return null;
  // A zone exists while an enabled compute host is in it (the default zone, or an aggregate's).
  if (requested && !(await availableZones(db, config)).has(zone)) {
    throw new BadRequest('The requested availability zone is not available');
  }
  return zone;
}

/**
 * The server group the `group` scheduler hint names: one of the project's (any group, for admins).
 * As in Nova, a group that cannot be found is a 400.
 */
export async function requestedServerGroup(
  db: Db,
  ctx: RequestContext,
  body: CreateServerBody,
): Promise<ServerGroup | null> {
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
  const hint = hints['group'] as string | string[] | undefined;
  const uuids = hint === undefined ? [] : Array.isArray(hint) ? hint : [hint];
  if (uuids.length === 0) return null;
  if (uuids.length > 1) throw new BadRequest('Only one server group may be given in the group scheduler hint.');
  const group = await findServerGroup(db, uuids[0]!, ctx.isAdmin ? null : (ctx.projectId ?? ''));
  if (!group) throw new BadRequest(`Instance group ${uuids[0]} could not be found.`);
  return group;
}

/** The flavor a flavorRef (id or URL) names, as the project may use it; 400 otherwise, as in Nova. */
export async function requestedFlavor(db: Db, ctx: RequestContext, flavorRef: string | number): Promise<Flavor> {
  const flavorId = String(flavorRef).split('?')[0]!.split('/').pop() ?? '';
  // Built only when needed: an Error captures a stack trace, which is not free on every request.
  const notFound = () => new BadRequest(`Flavor ${flavorId} could not be found.`);
  let flavor: Flavor;
  try {
    flavor = await getFlavor(db, flavorId);
  } catch (err) {
    if (err instanceof NotFound) throw notFound();
    throw err;
  }
  if (flavor.disabled) throw notFound();
  if (!flavor.is_public && !ctx.isAdmin && !(await flavorAccessList(db, flavorId)).includes(ctx.projectId ?? '')) {
    throw notFound();
  }
  return flavor;
}

export async function requestedImage(
  images: ImageLookup,
  ctx: RequestContext,
  imageRef: string | undefined,
): Promise<ImageSummary> {
  if (!imageRef) throw new BadRequest('Missing imageRef attribute');
  const image = await images.getImage(ctx, imageRef);
  if (!image) throw new BadRequest('Can not find requested image');
  if (image.status !== 'active') throw new BadRequest(`Image ${image.id} is not active.`);
  return image;
}

/** Nova's _check_requested_image: the flavor must hold what the image needs. */
export function checkImageFitsFlavor(ctx: RequestContext, image: ImageSummary, flavor: Flavor): void {
  if (flavor.memory_mb < (image.min_ram || 0))
    throw new BadRequest("Flavor's memory is too small for requested image.");
  const rootBytes = flavor.root_gb * GIB;
  if (rootBytes === 0) {
    // A zero-disk flavor boots the image at whatever size it has; Nova allows that to admins only.
    if (!permits(ctx, 'os_compute_api:servers:create:zero_disk_flavor')) {
      throw new Forbidden('Only volume-backed servers are allowed for flavors with zero disk.');
    }
    return;
  }
  const minDiskBytes = (image.min_disk || 0) * GIB;
  if (minDiskBytes > rootBytes) {
    throw new BadRequest(
      `Flavor's disk is smaller than the minimum size specified in image metadata. ` +
        `Flavor disk is ${rootBytes} bytes, minimum size is ${minDiskBytes} bytes.`,
    );
  }
}

/**
 * `hw:cpu_policy`: `shared` (the default) runs on the host's shared CPUs (VCPU), `dedicated` on CPUs of
 * its own (PCPU). Nova's `mixed` needs per-vCPU masks Stratus does not implement: refused, not ignored.
 */
export function checkCpuPolicy(flavor: Flavor): void {
  const policy = flavor.extra_specs['hw:cpu_policy'];
  if (policy === undefined || policy === 'shared' || policy === 'dedicated') return;
  throw new BadRequest(
    `Flavor ${flavor.flavorid} has hw:cpu_policy '${policy}', which Stratus does not support; use shared or dedicated.`,
  );
}

/** The checks Nova makes on a list of requested networks that JSON schema cannot express. */
export function checkNetworks(networks: CreateServerBody['server']['networks']): void {
  if (!Array.isArray(networks)) return;
  const ports = new Set<string>();
  for (const network of networks) {
    if (network.port) {
      if (ports.has(network.port)) {
        throw new BadRequest(`Port ID '${network.port}' was specified twice: you cannot attach a port multiple times.`);
      }
      if (network.fixed_ip !== undefined) {
        throw new BadRequest(
          `Specified Fixed IP '${network.fixed_ip}' cannot be used with port '${network.port}': the two cannot be specified together.`,
        );
      }
      ports.add(network.port);
    } else if (network.uuid === undefined) {
      throw new BadRequest("Bad network format: missing 'uuid'");
    } else if (!isUuidLike(network.uuid)) {
      throw new BadRequest(`Bad networks format: network uuid is not in proper format (${network.uuid})`);
    }
  }
}

/**
 * user_data must be base64 as Nova's schema format checks it: Python's lenient decoder, which skips
 * characters outside the alphabet (whitespace included) and stops at padding that completes a group,
 * then needs the data characters to end on a whole group. Its size limit is the schema's maxLength.
 */
export function checkUserData(userData: string | undefined): void {
  if (userData === undefined) return;
  let group = 0;
  let pads = 0;
  let complete = false;
  for (const char of userData) {
    if (char === '=') {
      if (group >= 2 && group + ++pads >= 4) {
        complete = true;
        break;
      }
    } else if (/[A-Za-z0-9+/]/.test(char)) {
      group = (group + 1) % 4;
      pads = 0;
    }
  }
  if (complete || group === 0) return;
  const shown = userData.length > 40 ? `${userData.slice(0, 40)}...` : userData;
  throw new BadRequest(`Invalid input for field/attribute user_data. Value: ${shown}. '${shown}' is not a 'base64'`);
}

/**
 * The key pair `key_name` names: one of the requesting user's own (admins included, as in Nova), whose
 * public part the instance keeps. Unknown: Nova's 400.
 */
export async function requestedKeyPair(
  db: Db,
  ctx: RequestContext,
  keyName: string | undefined,
): Promise<KeyPair | null> {
  if (keyName === undefined) return null;
  const keyPair = await findKeyPair(db, ctx.userId ?? '', keyName);
  if (!keyPair) throw new BadRequest('Invalid key_name provided.');
  return keyPair;
}

/**
 * The `query` hint must be a JsonFilter query (a JSON list led by an operator). Nova's schema takes any
 * string and leaves the scheduler to fail on it; refusing it here tells the user why and creates nothing.
 */
export function checkQueryHint(hints: Record<string, string | string[]>): void {
  const query = hints['query'];
  if (query === undefined) return;
  if (Array.isArray(query)) {
    throw new BadRequest('Invalid input for field/attribute query. The query scheduler hint must be one JSON string.');
  }
  try {
    parseJsonQuery(query);
  } catch (err) {
    throw new BadRequest(`Invalid input for field/attribute query. Value: ${query}. ${(err as Error).message}`);
  }
}

/** Hints as the request spec stores them; Nova drops the ones it reserves for itself (`_nova...`). */
export function schedulerHints(body: CreateServerBody): Record<string, string | string[]> {
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
  const result: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(hints)) {
    if (key.startsWith('_nova')) continue;
    if (typeof value === 'string') result[key] = value;
    else if (Array.isArray(value)) result[key] = value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    else result[key] = JSON.stringify(value);
  }
  return result;
}

/**
 * POST /servers: checks the request, records the instances (BUILDING/scheduling), their request spec
 * and a 'create' action in one transaction, then casts build_instances to the conductor and answers
 * 202. Scheduling and spawning happen after the answer; a failure there shows as ERROR with a fault.
 * If even the cast fails, the instances go to ERROR with a fault at once rather than stay in BUILD.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { RequestContext } from '../../../common/context.ts';
import { firstFailureInOrder } from '../../../common/promises.ts';
import type { StorageTier } from '../../../common/storage-tiers.ts';
import { BadRequest } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import type { Flavor } from '../../../objects/flavors.ts';
import { failBuild } from '../../../objects/instance-faults.ts';
import { flavorSpec, newInstancePayload } from '../../../objects/instance-payload.ts';
import type { NewInstance } from '../../../objects/instances.ts';
import type { KeyPair } from '../../../objects/key-pairs.ts';
import { recordCheckedBuildRequest } from '../../../objects/build-requests.ts';
import { RequestSpecShape, type RequestedDestination, type RequestSpec } from '../../../wire/messages/request-spec.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize, requireProjectScope } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import type { ImageSummary } from '../image-lookup.ts';
import { resourceLinks } from '../links.ts';
import { serversAllowed } from '../quotas/enforce.ts';
import { atLeast } from '../microversion.ts';
import { boolFromString, validateBody } from '../validate.ts';
import {
  availabilityZone,
  checkCpuPolicy,
  checkImageFitsFlavor,
  checkNetworks,
  checkQueryHint,
  checkUserData,
  instanceCounts,
  requestedFlavor,
  requestedImage,
  requestedKeyPair,
  requestedServerGroup,
  schedulerHints,
} from './create-checks.ts';
import { adminPassword } from './admin-password.ts';
import { configDriveColumn } from './config-drive.ts';
import { canonicalIpv6, diskConfigView, newServerAutoDiskConfig } from './disk-config.ts';
import { sanitizeHostname } from './names.ts';
import { requestedDestination } from './requested-destination.ts';
import { requestedStorageTier } from './storage-tier.ts';
import { resolveRequestedNetworks } from './requested-networks.ts';
import { recordNicRequests } from '../../../objects/instance-networks.ts';
import { createServerSchema, type CreateServerBody } from './schemas.ts';

const log = getLogger('api.compute.servers');

export function registerServerCreateRoute(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.post('/servers', async (request, reply) => {
    const ctx = request.ctx;
    requireProjectScope(ctx);
    const body = validateBody<CreateServerBody>(createServerSchema(request), request.body);
    const server = body.server;
    authorize(ctx, 'os_compute_api:servers:create');
    // Nova checks these only when the request asks for networks (any value but 'none') or volumes.
    if (server.networks !== undefined && server.networks !== 'none') {
      authorize(ctx, 'os_compute_api:servers:create:attach_network');
    }
    const name = server.name.trim();
    const count = instanceCounts(server, deps.config.api.max_servers_per_request);
    if (server.hostname !== undefined && count.max > 1) {
      throw new BadRequest('Unable to allocate a single hostname to multiple instances');
    }
    checkUserData(server.user_data);
    checkNetworks(server.networks);
    const hints = schedulerHints(body);
    checkQueryHint(hints);
    if (!server.imageRef) throw new BadRequest('Missing imageRef attribute');
    const imageRef = server.imageRef;
    // Independent lookups, concurrently (each is a database round trip); the first failure in this
    // order is the one reported, so the answer to a request with several mistakes does not vary.
    const [zone, destination, group, flavor, image, keyPair] = await firstFailureInOrder([
      availabilityZone(db, ctx, deps.config, server.availability_zone),
      requestedDestination(db, ctx, server.host, server.hypervisor_hostname),
      requestedServerGroup(db, ctx, body),
      requestedFlavor(db, ctx, server.flavorRef),
      requestedImage(deps.images, ctx, imageRef),
      requestedKeyPair(db, ctx, server.key_name),
    ] as const);
    // After the other lookups, as Nova checks the networks last; nothing is written yet.
    const networks = await resolveRequestedNetworks(db, ctx, server.networks, server.security_groups, count);
    checkImageFitsFlavor(ctx, image, flavor);
    checkCpuPolicy(flavor);
    const storageTier = requestedStorageTier(hints, body.server.instance_disk_type, flavor, deps.config);
    const autoDiskConfig = newServerAutoDiskConfig(server['OS-DCF:diskConfig'], image);

    // Nova copies the name into the description before 2.19, when there was no description field.
    const description = atLeast(request, '2.19') ? (server.description ?? null) : name;
    const reservationId = `r-${randomBytes(6).toString('base64url').slice(0, 8).toLowerCase()}`;
    const password = adminPassword(server.adminPass, deps.config.DEFAULT.password_length);
    const common = {
      name,
      description,
      flavor,
      image,
      zone,
      reservationId,
      storageTier,
      keyPair,
      password,
      autoDiskConfig,
      configDrive: configDriveColumn(server.config_drive, image, deps.config),
    };
    const metadataItems = Object.keys(server.metadata ?? {}).length;
    // The quotas are checked in the transaction that records the instances (see build-requests.ts):
    // the count may come back lowered to what fits, as Nova lowers max_count.
    const { instances, spec } = await recordCheckedBuildRequest(db, ctx, {
      // The port quota may have lowered how many fit (Nova's max_net_count).
      maxCount: networks.maxCount,
      recordEach: (trx, uuid) => recordNicRequests(trx, uuid, networks.nics),
      build: (fits) => {
        const built = buildInstances(ctx, server, { ...common, count: fits });
        const spec = requestSpec(ctx, { flavor, image, zone, hints, count: fits, storageTier, destination });
        return { instances: built, spec };
      },
      groupId: group?.id ?? null,
      quota: {
        config: deps.config,
        decide: (snapshot) =>
          serversAllowed(snapshot, {
            vcpus: flavor.vcpus,
            memoryMb: flavor.memory_mb,
            minCount: count.min,
            maxCount: networks.maxCount,
            metadataItems,
            inGroup: group !== null,
          }),
      },
    });
    await castBuild(deps, ctx, instances, spec);

    void reply.code(202);
    if (server.return_reservation_id !== undefined && boolFromString(server.return_reservation_id)) {
      return { reservation_id: reservationId };
    }
    const first = instances[0]!;
    const links = resourceLinks(request, 'servers', first.uuid);
    void reply.header('location', links[0]!.href);
    const created: Record<string, unknown> = {
      id: first.uuid,
      links,
      'OS-DCF:diskConfig': diskConfigView(autoDiskConfig),
      security_groups: server.security_groups ?? [{ name: 'default' }],
    };
    // The password is kept with the instance for the guest either way; the option only hides it here.
    if (deps.config.api.enable_instance_password) created['adminPass'] = password;
    return { server: created };
  });
}

interface Common {
  name: string;
  description: string | null;
  flavor: Flavor;
  image: ImageSummary;
  zone: string | null;
  reservationId: string;
  count: number;
  storageTier: StorageTier;
  keyPair: KeyPair | null;
  password: string;
  autoDiskConfig: boolean;
  configDrive: 'True' | '';
}

function buildInstances(ctx: RequestContext, server: CreateServerBody['server'], c: Common): NewInstance[] {
  const baseHost = server.hostname ?? sanitizeHostname(c.name);
  return Array.from({ length: c.count }, (_, index) => {
    const uuid = randomUUID();
    // Several servers from one request are told apart by a suffix, on the name and the hostname alike.
    const suffix = c.count > 1 ? `-${index + 1}` : '';
    return {
      uuid,
      display_name: `${c.name}${suffix}`,
      display_description: c.description,
      hostname: baseHost ? `${baseHost}${suffix}` : `Server-${uuid}`,
      user_id: ctx.userId ?? '',
      project_id: ctx.projectId ?? '',
      image_ref: c.image.id,
      flavor: c.flavor,
      availability_zone: c.zone,
      key_name: c.keyPair?.name ?? null,
      key_data: c.keyPair?.public_key ?? null,
      key_type: c.keyPair?.type ?? null,
      admin_pass: c.password,
      config_drive: c.configDrive,
      user_data: server.user_data ?? null,
      reservation_id: c.reservationId,
      launch_index: index,
      access_ip_v4: server.accessIPv4 ?? null,
      access_ip_v6: server.accessIPv6 === undefined ? null : canonicalIpv6(server.accessIPv6),
      metadata: { ...(server.metadata ?? {}) },
      storage_tier: c.storageTier,
      ...(server.tags ? { tags: server.tags } : {}),
      auto_disk_config: c.autoDiskConfig,
    };
  });
}

interface SpecInputs {
  flavor: Flavor;
  image: ImageSummary;
  zone: string | null;
  hints: Record<string, string | string[]>;
  count: number;
  storageTier: StorageTier;
  destination: RequestedDestination | undefined;
}

function requestSpec(ctx: RequestContext, s: SpecInputs): RequestSpec {
  return RequestSpecShape.build({
    project_id: ctx.projectId ?? '',
    user_id: ctx.userId ?? '',
    flavor: flavorSpec(s.flavor),
    image: { id: s.image.id, properties: { ...s.image.properties } },
    availability_zone: s.zone,
    scheduler_hints: s.hints,
    num_instances: s.count,
    storage_tier: s.storageTier,
    ignore_hosts: [],
    // Left out when none is asked for: such a spec backports to 1.0 for older peers (one with it cannot).
    ...(s.destination ? { requested_destination: s.destination } : {}),
  });
}

/** Casts the build; if the bus refuses it, no one will ever build these instances, so they go to ERROR. */
async function castBuild(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  instances: readonly NewInstance[],
  spec: RequestSpec,
): Promise<void> {
  const uuids = instances.map((i) => i.uuid);
  try {
    await deps.conductor.buildInstances(ctx, uuids, spec, instances.map(newInstancePayload));
  } catch (err) {
    const error = err as Error;
    log.error({ err: error.message, instances: uuids }, 'could not cast build_instances to the conductor');
    for (const uuid of uuids) {
      await failBuild(deps.database.db, uuid, {
        code: 500,
        message: `The build could not be handed to the conductor: ${error.message}`,
        details: error.stack ?? null,
      });
    }
  }
}

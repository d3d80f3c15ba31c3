/**
 * A compute API over an in-memory database, with fakes around it: three fixed tokens (an admin and
 * members of two projects), an image lookup holding a few images, and a transport under the real
 * ConductorRpcApi/ComputeRpcApi that records every cast instead of delivering it (and can be told to
 * refuse them, as a bus that is down would). Every response its inject returns has been checked
 * against Nova's strict response schemas (response-check.ts): a stray or missing key fails the test.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import {
  apiNotificationsFromConfig,
  type ApiNotifications,
} from '../../../src/api/compute/notifications/api-notifications.ts';
import { registerComputeApi, type ImageLookup, type ImageSummary } from '../../../src/api/compute/index.ts';
import type { ImageListRequest, ImageRecord, SnapshotImageRequest } from '../../../src/api/compute/image-lookup.ts';
import { BadRequest, Forbidden, NotFound } from '../../../src/common/errors.ts';
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import type { Policy } from '../../../src/api/policy/index.ts';
import type { TokenValidator } from '../../../src/api/auth/token-validator.ts';
import { loadConfig, type Config, type RawOverrides } from '../../../src/common/config/load-config.ts';
import { now } from '../../../src/common/db/schema.ts';
import { RpcClient } from '../../../src/common/rpc/index.ts';
import type { Transport } from '../../../src/common/rpc/transport.ts';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { ConductorRpcApi } from '../../../src/wire/contracts/conductor.ts';
import { createFlavor, type Flavor } from '../../../src/objects/flavors.ts';
import { PowerState, VmState } from '../../../src/wire/messages/instance-states.ts';
import {
  getInstance,
  insertInstance,
  updateInstance,
  type Instance,
  type InstanceChanges,
} from '../../../src/objects/instances.ts';
import { registerService } from '../../../src/objects/services.ts';
import { upsertComputeNode } from '../../../src/placement/providers.ts';
import { NodeReportShape } from '../../../src/wire/messages/node-report.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { RecordingTransport, type RecordedCast } from '../../helpers/recording-transport.ts';
import { checkEveryResponse } from './response-check.ts';
import { PROJECT_A, PROJECT_B, PROJECT_ADMIN, TOKENS, fakeTokens } from '../../helpers/fake-tokens.ts';

export { PROJECT_A, PROJECT_B, PROJECT_ADMIN, TOKENS, fakeTokens, RecordingTransport, type RecordedCast };
export type Who = keyof typeof TOKENS | 'nobody';

export class FakeImages implements ImageLookup {
  readonly images = new Map<string, ImageSummary & { owner: string | null }>();
  /** Snapshot images created through createImage, as the image service would hold them (queued). */
  readonly snapshots = new Map<string, SnapshotImageRequest>();
  /** Ids deleted through deleteImage, in order. */
  readonly deleted: string[] = [];

  add(fields: Partial<ImageRecord> & { owner?: string | null } = {}): ImageSummary {
    const image = {
      id: randomUUID(),
      status: 'active',
      min_ram: 0,
      min_disk: 0,
      properties: {},
      owner: null,
      ...fields,
    };
    this.images.set(image.id, image);
    return image;
  }

  async getImage(ctx: { projectId: string | null; isAdmin: boolean }, id: string): Promise<ImageSummary | null> {
    const image = this.images.get(id);
    // Like Glance: a private image is visible to its owner (and admins) only.
    if (!image || (image.owner !== null && image.owner !== ctx.projectId && !ctx.isAdmin)) return null;
    return image;
  }

  async createSnapshotImage(_ctx: unknown, request: SnapshotImageRequest): Promise<string> {
    const id = randomUUID();
    this.snapshots.set(id, request);
    return id;
  }

  async deleteImage(ctx: { projectId: string | null; isAdmin: boolean }, id: string): Promise<void> {
    const image = this.images.get(id);
    if (image) {
      // Like Glance: only the owner (or an admin) deletes an image it can see.
      if ((await this.getImage(ctx, id)) === null) throw new NotFound(`No image found with ID ${id}`);
      if (!ctx.isAdmin && image.owner !== ctx.projectId)
        throw new Forbidden('You are not permitted to delete this image.');
      this.images.delete(id);
    } else if (!this.snapshots.has(id)) {
      throw new NotFound(`No image found with ID ${id}`);
    }
    this.snapshots.delete(id);
    this.deleted.push(id);
  }

  /** Name, size and times the images proxy shows; an image's creation order is its insertion order. */
  private record(image: ImageSummary & { owner: string | null }, index: number): ImageRecord {
    const extra = image as Partial<ImageRecord>;
    return {
      ...image,
      name: extra.name ?? null,
      size: extra.size ?? null,
      created_at: extra.created_at ?? new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
      updated_at: extra.updated_at ?? null,
    };
  }

  async describeImage(ctx: { projectId: string | null; isAdmin: boolean }, id: string): Promise<ImageRecord | null> {
    if ((await this.getImage(ctx, id)) === null) return null;
    return this.record(this.images.get(id)!, [...this.images.keys()].indexOf(id));
  }

  async listImages(
    ctx: { projectId: string | null; isAdmin: boolean },
    request: ImageListRequest,
  ): Promise<ImageRecord[]> {
    const visible: ImageRecord[] = [];
    for (const [index, image] of [...this.images.values()].entries()) {
      if ((await this.getImage(ctx, image.id)) !== null) visible.push(this.record(image, index));
    }
    let images = visible
      .filter((i) => request.name === undefined || i.name === request.name)
      .filter((i) => request.status === undefined || i.status === request.status)
      .filter((i) => Object.entries(request.properties).every(([k, v]) => i.properties[k] === v))
      .reverse();
    if (request.marker !== undefined) {
      const at = images.findIndex((i) => i.id === request.marker);
      if (at < 0) throw new BadRequest(`No image found with ID ${request.marker}`);
      images = images.slice(at + 1);
    }
    return images.slice(0, request.limit);
  }

  async replaceImageProperties(
    ctx: { projectId: string | null; isAdmin: boolean },
    id: string,
    properties: Record<string, string>,
  ): Promise<Record<string, string>> {
    const image = this.images.get(id);
    if (!image || (await this.getImage(ctx, id)) === null) throw new NotFound(`No image found with ID ${id}`);
    if (!ctx.isAdmin && image.owner !== ctx.projectId)
      throw new Forbidden('You are not permitted to modify this image.');
    image.properties = { ...properties };
    return { ...properties };
  }
}

export interface Harness {
  app: ApiServer;
  database: TestDatabase;
  config: Config;
  transport: RecordingTransport;
  /** The API's notifier: `flush()` before reading transport.notifications. */
  notifications: ApiNotifications;
  images: FakeImages;
  /** A public 1 vCPU / 512 MB / 1 GB flavor, id '1'. */
  tiny: Flavor;
  /** An active public image. */
  cirros: ImageSummary;
  close(): Promise<void>;
}

/**
 * `rpcTransport` carries the API's casts and calls instead of the recording transport, for tests whose
 * compute hosts answer calls (an in-process bus with an RPC server on it).
 */
export async function startComputeApi(
  overrides: RawOverrides = {},
  options: { rpcTransport?: Transport; policy?: Policy; tokens?: TokenValidator } = {},
): Promise<Harness> {
  const database = await openTestDatabase();
  // Tests boot servers by the dozen in one project: servers are unlimited unless the test sets quotas
  // (the quota tests do), so Nova's defaults (10 servers, 20 cores) do not decide other tests' outcomes.
  const quota = { instances: '-1', cores: '-1', ram: '-1', ...overrides.quota };
  const config = loadConfig([], { ...overrides, quota });
  const transport = new RecordingTransport();
  const rpc = new RpcClient(options.rpcTransport ?? transport, { responseTimeoutMs: 1000 });
  const images = new FakeImages();
  const notifications = apiNotificationsFromConfig(config, transport);
  const app = createApiServer({ kind: 'compute', tokens: options.tokens ?? fakeTokens, policy: options.policy });
  // Every response the tests receive is checked against Nova's strict response schemas.
  checkEveryResponse(app);
  registerComputeApi(app, {
    database,
    config,
    conductor: new ConductorRpcApi(rpc),
    compute: new ComputeRpcApi(rpc),
    images,
    notifications,
  });
  await app.ready();
  const tiny = await createFlavor(database.db, {
    flavorid: '1',
    name: 'm1.tiny',
    memory_mb: 512,
    vcpus: 1,
    root_gb: 1,
  });
  const cirros = images.add({ min_ram: 64 });
  return {
    app,
    database,
    config,
    transport,
    notifications,
    images,
    tiny,
    cirros,
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

export interface Client {
  get(url: string): Promise<LightMyRequestResponse>;
  delete(url: string): Promise<LightMyRequestResponse>;
  post(url: string, body?: unknown): Promise<LightMyRequestResponse>;
  put(url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

/** Requests as `who`, at microversion `version` (none: the 2.1 default), with any `extra` headers. */
export function client(app: ApiServer, who: Who, version?: string, extra: Record<string, string> = {}): Client {
  const headers: Record<string, string> = { ...extra };
  if (who !== 'nobody') headers['x-auth-token'] = TOKENS[who];
  if (version) headers['openstack-api-version'] = `compute ${version}`;
  const send = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    app.inject({
      method,
      url,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    get: (url) => send('GET', url),
    delete: (url) => send('DELETE', url),
    post: (url, body) => send('POST', url, body),
    put: (url, body) => send('PUT', url, body),
  };
}

/** Registers a compute service with one node, its inventory and storage pools (one hdd pool unless told), as a running host would. */
export async function addComputeHost(
  h: Harness,
  host: string,
  opts: { vcpus?: number; memoryMb?: number; diskGb?: number; pools?: Record<string, number> } = {},
) {
  const service = await registerService(h.database.db, host, 'stratus-compute', 'compute');
  const vcpus = opts.vcpus ?? 16;
  const memory = opts.memoryMb ?? 32768;
  const pools = opts.pools ?? { hdd: opts.diskGb ?? 500 };
  const disk = Object.values(pools).reduce((sum, gb) => sum + gb, 0);
  const inventory = (total: number, ratio: number) => ({
    total,
    reserved: 0,
    min_unit: 1,
    max_unit: total,
    step_size: 1,
    allocation_ratio: ratio,
  });
  const node = await upsertComputeNode(
    h.database.db,
    host,
    service.id,
    NodeReportShape.build({
      nodename: `${host}-node`,
      hypervisor_type: 'fake',
      hypervisor_version: 1000,
      host_ip: '192.0.2.10',
      cpu_info: JSON.stringify({ arch: 'x86_64', model: 'fake' }),
      vcpus,
      memory_mb: memory,
      local_gb: disk,
      running_vms: 0,
      inventories: { VCPU: inventory(vcpus, 4), MEMORY_MB: inventory(memory, 1) },
      storage_pools: Object.fromEntries(Object.entries(pools).map(([tier, gb]) => [tier, inventory(gb, 1)])),
      supported_instances: [['x86_64', 'fake', 'hvm']],
      stats: { failed_builds: '0' },
    }),
  );
  return { service, node };
}

/** The API recording its casts, with compute service `host` up: where the server action tests start. */
export async function startApiWithHost(host: string): Promise<Harness> {
  const h = await startComputeApi();
  await addComputeHost(h, host);
  return h;
}

/** Forgets what an earlier test left behind: the casts recorded, a refusal set, the images made and deleted. */
export function forgetRecorded(h: Harness): void {
  h.transport.casts.length = 0;
  h.transport.refuse = null;
  h.images.snapshots.clear();
  h.images.deleted.length = 0;
}

/** Makes a compute service look dead: its last heartbeat far in the past. */
export async function stopHeartbeat(h: Harness, host: string): Promise<void> {
  await h.database.db
    .updateTable('services')
    .set({ last_seen_up: '2000-01-01T00:00:00.000Z' })
    .where('host', '=', host)
    .execute();
}

/** Inserts a server directly (as the conductor and compute would leave it) in a given state. */
export async function seedServer(
  h: Harness,
  fields: {
    project?: string;
    user?: string;
    name?: string;
    flavor?: Flavor;
    host?: string | null;
    state?: InstanceChanges;
  } = {},
): Promise<Instance> {
  const uuid = randomUUID();
  await insertInstance(h.database.db, {
    uuid,
    display_name: fields.name ?? 'vm',
    display_description: null,
    hostname: fields.name ?? 'vm',
    user_id: fields.user ?? 'alice',
    project_id: fields.project ?? PROJECT_A,
    image_ref: h.cirros.id,
    flavor: fields.flavor ?? h.tiny,
    availability_zone: null,
    key_name: null,
    config_drive: '',
    user_data: null,
    reservation_id: 'r-seeded00',
    launch_index: 0,
    access_ip_v4: null,
    access_ip_v6: null,
    metadata: {},
    // The API always records a tier; [storage] default_tier is hdd.
    storage_tier: 'hdd',
  });
  const host = fields.host === undefined ? 'host1' : fields.host;
  const running: InstanceChanges = host
    ? {
        host,
        node: `${host}-node`,
        vm_state: VmState.ACTIVE,
        task_state: null,
        power_state: PowerState.RUNNING,
        launched_at: now(),
      }
    : {};
  await updateInstance(h.database.db, uuid, { ...running, ...fields.state });
  return getInstance(h.database.db, uuid);
}

/** Rows of a table, for checking that a refused request changed nothing. */
export async function countRows(
  h: Harness,
  table: 'instances' | 'request_specs' | 'instance_actions' | 'flavors',
): Promise<number> {
  const row = await h.database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The single error entry of a Nova error body: `{"badRequest": {"code": 400, "message": ...}}`. */
export function fault(res: LightMyRequestResponse): { name: string; code: number; message: string } {
  const body = res.json() as Record<string, { code: number; message: string }>;
  const [name, value] = Object.entries(body)[0]!;
  return { name, ...value };
}

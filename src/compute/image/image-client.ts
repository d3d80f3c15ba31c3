/**
 * What compute asks of the image API (Glance v2): an image's metadata, and its bytes written to a file
 * while their digest is computed, so a corrupt or tampered image is caught before anything boots from it;
 * and, for snapshots, the upload of an image's data and the removal of a snapshot that failed.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Config } from '../../common/config/load-config.ts';
import { BuildAborted } from '../../common/errors.ts';
import { serviceTokensFromConfig, type ServiceTokenSource } from './service-token.ts';

export interface ImageMeta {
  id: string;
  status: string;
  diskFormat: string | null;
  containerFormat: string | null;
  size: number | null;
  /** MD5 of the bytes (Glance's `checksum`). */
  checksum: string | null;
  osHashAlgo: string | null;
  osHashValue: string | null;
  /** Every other attribute, as strings: kernel_id, ramdisk_id, os_command_line, ... */
  properties: Record<string, string>;
}

/** A fetch request; `once` marks a body that cannot be sent again (a stream), so no retry. */
type ImageRequestInit = RequestInit & { headers?: Record<string, string>; duplex?: 'half'; once?: boolean };

/** The image's bytes did not match its recorded digest; nothing was kept. */
export class ImageChecksumMismatch extends BuildAborted {}

/** The image service has no such image (deleted, or never there): no other host would find it either. */
export class ImageMissing extends BuildAborted {}

const CORE = new Set([
  'id',
  'status',
  'disk_format',
  'container_format',
  'size',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
]);

/** Where the image cache gets images from: the image API, or a stand-in in tests. */
export interface ImageSource {
  getImage(id: string): Promise<ImageMeta>;
  /** Writes the image's bytes to `path`; throws ImageChecksumMismatch if they do not match its digest. */
  download(image: ImageMeta, path: string): Promise<void>;
}

/** Where a snapshot's data goes: the image API, or a recorder in tests. */
export interface SnapshotImageSink {
  /**
   * Records the data's formats on the (queued) image, then streams the data into it. The formats are
   * the snapshot's own, whatever the image was created with: a raw image's snapshot is a qcow2 file.
   */
  upload(imageId: string, data: Readable, formats: { diskFormat: string; containerFormat: string }): Promise<void>;
  /** Removes the image of a snapshot that failed (Nova's delete_image_on_error); a missing image is fine. */
  delete(imageId: string): Promise<void>;
  /** The ids of the server's backups of `backupType` (createBackup's images), newest first. */
  backupsOf(instanceUuid: string, backupType: string): Promise<string[]>;
}

export class ImageClient implements ImageSource, SnapshotImageSink {
  /** `apiServers`: base URLs of the image API; empty means the one the token's catalog names. */
  constructor(
    private readonly tokens: ServiceTokenSource,
    private readonly apiServers: readonly string[],
  ) {}

  async getImage(id: string): Promise<ImageMeta> {
    const response = await this.request(`/v2/images/${encodeURIComponent(id)}`);
    const body = (await response.json()) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : null);
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (!CORE.has(k) && typeof v === 'string') properties[k] = v;
    return {
      id: String(body['id']),
      status: String(body['status']),
      diskFormat: str('disk_format'),
      containerFormat: str('container_format'),
      size: typeof body['size'] === 'number' ? body['size'] : null,
      checksum: str('checksum'),
      osHashAlgo: str('os_hash_algo'),
      osHashValue: str('os_hash_value'),
      properties,
    };
  }

  /** Writes the image's bytes to `path`, then checks them against the image's checksum and hash. */
  async download(image: ImageMeta, path: string): Promise<void> {
    const response = await this.request(`/v2/images/${encodeURIComponent(image.id)}/file`);
    if (!response.body) throw new Error(`image ${image.id} has no data`);
    const md5 = createHash('md5');
    const multihash = image.osHashAlgo && image.osHashValue ? createHash(image.osHashAlgo) : null;
    const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    source.on('data', (chunk: Buffer) => {
      md5.update(chunk);
      multihash?.update(chunk);
    });
    await pipeline(source, createWriteStream(path, { mode: 0o644 }));
    const gotMd5 = md5.digest('hex');
    if (image.checksum && gotMd5 !== image.checksum) {
      throw new ImageChecksumMismatch(
        `image ${image.id} is corrupt: its data has checksum ${gotMd5} but the image service recorded ` +
          `${image.checksum}; upload the image again`,
      );
    }
    const gotHash = multihash?.digest('hex');
    if (gotHash !== undefined && gotHash !== image.osHashValue) {
      throw new ImageChecksumMismatch(
        `image ${image.id} is corrupt: its ${image.osHashAlgo} hash is ${gotHash} but the image service ` +
          `recorded ${image.osHashValue}; upload the image again`,
      );
    }
  }

  async upload(
    imageId: string,
    data: Readable,
    formats: { diskFormat: string; containerFormat: string },
  ): Promise<void> {
    const path = `/v2/images/${encodeURIComponent(imageId)}`;
    // Glance's JSON patch: disk_format and container_format are core attributes, always present.
    const patch = [
      { op: 'replace', path: '/disk_format', value: formats.diskFormat },
      { op: 'replace', path: '/container_format', value: formats.containerFormat },
    ];
    await this.request(path, {
      method: 'PATCH',
      headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' },
      body: JSON.stringify(patch),
    });
    // Streamed: a snapshot may be gigabytes. A stream cannot be sent twice, so no retry on a 401 here;
    // the PATCH just above has refreshed a stale token.
    await this.request(`${path}/file`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(data) as ReadableStream<Uint8Array>,
      duplex: 'half',
      once: true,
    });
  }

  async backupsOf(instanceUuid: string, backupType: string): Promise<string[]> {
    const query = new URLSearchParams({
      image_type: 'backup',
      backup_type: backupType,
      instance_uuid: instanceUuid,
      sort_key: 'created_at',
      sort_dir: 'desc',
    });
    const ids: string[] = [];
    let next: string | undefined = `/v2/images?${query.toString()}`;
    // Followed page by page: a server may have more backups than one page holds.
    while (next) {
      const response = await this.request(next);
      const body = (await response.json()) as { images?: { id: string }[]; next?: string };
      ids.push(...(body.images ?? []).map((image) => image.id));
      next = body.next;
    }
    return ids;
  }

  /** The id of an active image of this name visible to the service user, or null. */
  async findActive(name: string): Promise<string | null> {
    const response = await this.request(`/v2/images?name=${encodeURIComponent(name)}&status=active`);
    const body = (await response.json()) as { images?: { id: string }[] };
    return body.images?.[0]?.id ?? null;
  }

  /** Records a new image (its data comes with `upload`); returns its id. */
  async create(fields: Record<string, unknown>): Promise<string> {
    const response = await this.request('/v2/images', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fields),
    });
    return String(((await response.json()) as { id: unknown }).id);
  }

  async delete(imageId: string): Promise<void> {
    try {
      await this.request(`/v2/images/${encodeURIComponent(imageId)}`, { method: 'DELETE' });
    } catch (err) {
      if (!(err instanceof ImageMissing)) throw err;
    }
  }

  private async request(path: string, init: ImageRequestInit = {}, retried = false): Promise<Response> {
    const { token, imageEndpoint } = await this.tokens.get();
    const base = this.apiServers[0] ?? imageEndpoint;
    if (!base) throw new Error('no image API: the service catalog lists none and [glance] api_servers is empty');
    const url = `${base.replace(/\/$/, '')}${path}`;
    const method = init.method ?? 'GET';
    let response: Response;
    try {
      const { once: _once, ...fetchInit } = init;
      response = await fetch(url, { ...fetchInit, headers: { ...init.headers, 'x-auth-token': token } });
    } catch (err) {
      throw new Error(`cannot reach the image API at ${url}: ${(err as Error).message}`);
    }
    if (response.status === 401 && !retried && !init.once) {
      this.tokens.invalidate();
      return this.request(path, init, true);
    }
    if (response.status === 404) {
      throw new ImageMissing(`image ${decodeURIComponent(path.split('/')[3] ?? '')} not found in the image service`);
    }
    if (!response.ok) {
      const detail = (await response.text().catch(() => '')).slice(0, 500);
      throw new Error(`the image API answered HTTP ${response.status} to ${method} ${url}: ${detail}`);
    }
    return response;
  }
}

/** The image API as compute's service user ([glance] options), at the configured api_servers. */
export function imageClientFromConfig(config: Config): ImageClient {
  return new ImageClient(serviceTokensFromConfig(config), config.glance.api_servers);
}

/**
 * The metadata service's HTTP handler (Nova's MetadataRequestHandler): identifies the instance a request
 * comes from (identify.ts), reads its metadata (cached, metadata-cache.ts), and answers the path from the
 * tree guest-metadata/ builds. `openstack/<version>/password` also takes the guest's POST, once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Db } from '../../common/db/database.ts';
import { BadRequest, Conflict, NotFound, StratusError } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import { serveHealthcheck, type HealthcheckSettings } from '../../common/metrics/health.ts';
import { buildMetadataTree, isPasswordPath, treePath } from '../../guest-metadata/metadata-tree.ts';
import { EC2_VERSIONS } from '../../guest-metadata/versions.ts';
import { MAX_PASSWORD_LENGTH, setServerPasswordOnce } from '../../objects/server-password.ts';
import type { InstanceMetadata } from '../../wire/messages/instance-metadata.ts';
import { drainRest } from '../http/body-drain.ts';
import { identify, type IdentifyOptions } from './identify.ts';
import { holdsAddress, instanceByFixedIp, loadInstanceMetadata, type MetadataSettings } from './instance-metadata.ts';
import { MetadataCache } from './metadata-cache.ts';

const log = getLogger('metadata');

export interface MetadataHandlerOptions extends IdentifyOptions {
  db: Db;
  settings: MetadataSettings;
  /** `[api] metadata_cache_expiration`, in seconds. */
  cacheSeconds: number;
  /** oslo's healthcheck at `[healthcheck] path`, for the balancer in front; none when not given. */
  health?: HealthcheckSettings;
}

export type MetadataHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** HTTP reason phrases of the statuses the service answers with, in webob's plain-text error body. */
const TITLES: Record<number, [string, string]> = {
  400: [
    'Bad Request',
    'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  ],
  403: ['Forbidden', 'Access was denied to this resource.'],
  404: ['Not Found', 'The resource could not be found.'],
  409: ['Conflict', 'There was a conflict when trying to complete your request.'],
  500: ['Internal Server Error', 'The server has either erred or is incapable of performing the requested operation.'],
};

export function createMetadataHandler(options: MetadataHandlerOptions): MetadataHandler {
  const instances = new MetadataCache<InstanceMetadata | null>(options.cacheSeconds * 1000);
  const addresses = new MetadataCache<string | null>(options.cacheSeconds * 1000);

  async function instanceOf(request: IncomingMessage): Promise<{ metadata: InstanceMetadata; address: string }> {
    const claim = identify(request.headers, request.socket.remoteAddress ?? '', options);
    const uuid =
      claim.kind === 'instance'
        ? claim.instanceId
        : await addresses.get(claim.address, () => instanceByFixedIp(options.db, claim.address));
    const metadata = uuid
      ? await instances.get(uuid, () => loadInstanceMetadata(options.db, uuid, options.settings))
      : null;
    // The same answer for each mismatch: a caller learns nothing of which instances exist.
    if (!metadata) throw new NotFound('');
    if (
      claim.kind === 'instance' &&
      (metadata.project_id !== claim.tenantId || !holdsAddress(metadata, claim.address))
    ) {
      log.warn(
        { instance: claim.instanceId, address: claim.address },
        'metadata request names another project or address',
      );
      throw new NotFound('');
    }
    return { metadata, address: claim.address };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = treePath(new URL(request.url ?? '/', 'http://metadata').pathname);
    const { metadata, address } = await instanceOf(request);
    if (isPasswordPath(path) && request.method !== 'GET') {
      if (request.method !== 'POST') throw new BadRequest('GET and POST only are supported.');
      const tree = buildMetadataTree(metadata, { address });
      if (!tree.has(path)) throw new NotFound('');
      await postPassword(request, metadata);
      instances.delete(metadata.uuid);
      return send(response, 200, 'text/plain', Buffer.alloc(0));
    }
    const file = buildMetadataTree(metadata, { address }).get(path);
    if (!file) throw new NotFound('');
    send(response, 200, file.contentType, file.body);
  }

  async function postPassword(request: IncomingMessage, metadata: InstanceMetadata): Promise<void> {
    if (metadata.password) throw new Conflict('');
    const body = await readBody(request, MAX_PASSWORD_LENGTH);
    await setServerPasswordOnce(options.db, metadata.uuid, body.toString('utf8'));
  }

  return (request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://metadata').pathname;
    // For the balancer in front: no metadata tree has this path (their roots are versions and `openstack`).
    const health = options.health;
    if (health && pathname === health.path && (request.method === 'GET' || request.method === 'HEAD')) {
      return serveHealthcheck(health, request, response);
    }
    // The root needs no identity: it is the same EC2 version list for everyone, as on Nova.
    const root = treePath(pathname) === '';
    const answer = root ? Promise.resolve(send(response, 200, 'text/plain', ROOT_LISTING)) : handle(request, response);
    answer.catch((err: unknown) => {
      const status = err instanceof StratusError && TITLES[err.status] ? err.status : 500;
      if (status === 500) log.error({ err, url: request.url }, 'metadata request failed');
      const [title, explanation] = TITLES[status]!;
      // Only our own messages are shown (a 404 says nothing of why), never a database error's text.
      const detail = status === 500 || !(err instanceof StratusError) ? '' : err.message;
      const text = `${status} ${title}\n\n${detail || explanation}\n\n   `;
      // A refused password post may still be arriving: read it to the end, or the client gets a reset.
      drainRest(request);
      if (!response.headersSent) send(response, status, 'text/plain', Buffer.from(text));
      else response.destroy();
    });
  };
}

const ROOT_LISTING = Buffer.from([...EC2_VERSIONS, 'latest'].join('\n'));

function send(response: ServerResponse, status: number, contentType: string, body: Buffer): void {
  response.writeHead(status, { 'Content-Type': `${contentType}; charset=UTF-8`, 'Content-Length': body.length });
  response.end(body);
}

/**
 * The request's body, refused (400, as Nova) once it passes `limit` bytes. The stream is left open (not
 * destroyed, as leaving a for-await loop would): the error answer drains the rest (drainRest).
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(request.headers['content-length'] ?? 0) > limit)
    return Promise.reject(new BadRequest('Request is too large.'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      stop();
      request.pause();
      reject(new BadRequest('Request is too large.'));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', onError);
  });
}

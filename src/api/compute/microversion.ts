/**
 * Microversions of the compute API, negotiated as Nova does: the client asks with
 * `OpenStack-API-Version: compute X.Y` (or the legacy `X-OpenStack-Nova-API-Version: X.Y`), "latest" means
 * the newest we serve, no header means 2.1, a malformed one is a 400 and one outside our range a 406.
 * Every response of a versioned route names the version it was served at, so caches must vary on it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, NotFound, StratusError } from '../../common/errors.ts';

export interface ApiVersion {
  readonly major: number;
  readonly minor: number;
}

/**
 * The range Stratus implements, all of them Nova's versions meaning what they mean in Nova (what each
 * one does here: docs/microversions.md); raising MAX means implementing everything the new versions
 * change. Stratus's own additions never take a version number (Nova uses every number for changes of
 * its own): those that change Nova's bodies are asked for with the Stratus-Extensions header
 * (extensions.ts), and the disk snapshot routes (servers/disk-snapshots.ts) are paths and an action Nova
 * does not have, served at every version.
 */
export const MIN_VERSION: ApiVersion = { major: 2, minor: 1 };
export const MAX_VERSION: ApiVersion = { major: 2, minor: 96 };
export const DEFAULT_VERSION = MIN_VERSION;

export const VERSION_HEADER = 'OpenStack-API-Version';
export const LEGACY_VERSION_HEADER = 'X-OpenStack-Nova-API-Version';

declare module 'fastify' {
  interface FastifyRequest {
    /** The negotiated microversion; set on every route under /v2.1. */
    microversion: ApiVersion;
  }
}

/** 406: Nova answers a version outside its range with Not Acceptable. */
export class VersionNotAcceptable extends StratusError {
  override readonly status = 406;
}

export function formatVersion(v: ApiVersion): string {
  return `${v.major}.${v.minor}`;
}

export function parseVersion(text: string): ApiVersion {
  const match = /^([1-9]\d*)\.([1-9]\d*|0)$/.exec(text);
  if (!match) {
    throw new BadRequest(`API Version String ${text} is of invalid format. Must be of format MajorNum.MinorNum.`);
  }
  return { major: Number(match[1]), minor: Number(match[2]) };
}

export function compareVersions(a: ApiVersion, b: ApiVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const raw = request.headers[name.toLowerCase()];
  return Array.isArray(raw) ? raw.join(',') : raw;
}

/** The version string the client asked for, if any (microversion_parse's rules). */
export function requestedVersion(request: FastifyRequest): string | undefined {
  const modern = headerValue(request, VERSION_HEADER);
  if (modern !== undefined) {
    for (const entry of modern.split(',')) {
      const [service, version] = entry.trim().split(/\s+/);
      if (service?.toLowerCase() === 'compute' && version) return version;
    }
  }
  const legacy = headerValue(request, LEGACY_VERSION_HEADER)?.trim();
  return legacy || undefined;
}

export function negotiateVersion(request: FastifyRequest): ApiVersion {
  const asked = requestedVersion(request);
  if (asked === undefined) return DEFAULT_VERSION;
  if (asked.toLowerCase() === 'latest') return MAX_VERSION;
  const version = parseVersion(asked);
  if (compareVersions(version, MIN_VERSION) < 0 || compareVersions(version, MAX_VERSION) > 0) {
    throw new VersionNotAcceptable(
      `Version ${formatVersion(version)} is not supported by the API. ` +
        `Minimum is ${formatVersion(MIN_VERSION)} and maximum is ${formatVersion(MAX_VERSION)}.`,
    );
  }
  return version;
}

/** preHandler of the versioned routes: negotiates and announces the version on the response. */
export async function microversionHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const version = negotiateVersion(request);
  request.microversion = version;
  const text = formatVersion(version);
  void reply.header(VERSION_HEADER, `compute ${text}`);
  void reply.header(LEGACY_VERSION_HEADER, text);
  void reply.header('Vary', `${VERSION_HEADER}, ${LEGACY_VERSION_HEADER}`);
}

/** The versions the code compares against are a few dozen literals: parsed once each, not per server shown. */
const parsedLiterals = new Map<string, ApiVersion>();

/** True when the request was made at `version` or later (Nova's api_version_request.is_supported). */
export function atLeast(request: FastifyRequest, version: string): boolean {
  let parsed = parsedLiterals.get(version);
  if (!parsed) {
    parsed = parseVersion(version);
    parsedLiterals.set(version, parsed);
  }
  return compareVersions(request.microversion, parsed) >= 0;
}

/** Refuses a method that does not exist at the request's version, with the 404 Nova gives. */
export function requireVersion(request: FastifyRequest, min: string, max?: string): void {
  const tooOld = !atLeast(request, min);
  const tooNew = max !== undefined && compareVersions(request.microversion, parseVersion(max)) > 0;
  if (tooOld || tooNew) throw new NotFound('The resource could not be found.');
}

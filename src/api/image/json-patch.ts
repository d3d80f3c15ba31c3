/**
 * The body of PATCH /v2/images/{id}: a JSON patch in one of Glance's two media types. The 2.1 type is
 * RFC 6902 (`{"op": "replace", "path": "/name", "value": ...}`); the older 2.0 type names the operation
 * as the key (`{"replace": "/name", "value": ...}`) and refuses `add` of something that already exists.
 * Only one-level paths are accepted: every writable attribute is a top-level member of the image.
 */
import { BadRequest } from '../../common/errors.ts';
import { UnsupportedMediaType } from './errors.ts';
import { checkAgainstSchema, checkWritableName } from './validation.ts';

export const PATCH_MEDIA_TYPES = {
  'application/openstack-images-v2.0-json-patch': 4,
  'application/openstack-images-v2.1-json-patch': 10,
} as const;

export type PatchDialect = (typeof PATCH_MEDIA_TYPES)[keyof typeof PATCH_MEDIA_TYPES];
export type PatchOp = 'add' | 'replace' | 'remove';

export interface PatchChange {
  readonly op: PatchOp;
  /** The attribute or property the path names. */
  readonly name: string;
  readonly value?: unknown;
}

const OPS: readonly PatchOp[] = ['add', 'remove', 'replace'];

/** The dialect of a Content-Type header, or 415 listing the accepted ones (and an Accept-Patch hint). */
export function patchDialect(contentType: string | undefined): PatchDialect {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const dialect = (PATCH_MEDIA_TYPES as Record<string, PatchDialect | undefined>)[mediaType];
  if (dialect === undefined) {
    throw new UnsupportedMediaType(
      `Image PATCH expects Content-Type one of: ${Object.keys(PATCH_MEDIA_TYPES).sort().join(', ')}`,
    );
  }
  return dialect;
}

export function parsePatch(body: unknown, dialect: PatchDialect): PatchChange[] {
  if (body === undefined) throw new BadRequest('Body expected in request.');
  if (!Array.isArray(body)) throw new BadRequest('Request body must be a JSON array of operation objects.');
  return body.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new BadRequest('Operations must be JSON objects.');
    const change = raw as Record<string, unknown>;
    const [op, path] = dialect === 10 ? opAndPath10(change) : opAndPath4(change);
    const name = decodePath(path);
    checkWritableName(name);
    if (op === 'remove') return { op, name };
    if (!('value' in change)) throw new BadRequest(`Operation "${op}" requires a member named "value".`);
    const value = change['value'];
    checkAgainstSchema({ [name]: value });
    return { op, name, value };
  });
}

function opAndPath10(change: Record<string, unknown>): [PatchOp, unknown] {
  const op = change['op'];
  if (op === undefined) {
    throw new BadRequest(
      `Unable to find \`op\` in JSON Schema change. It must be one of the following: ${OPS.join(', ')}.`,
    );
  }
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
    throw new BadRequest(`Invalid operation: \`${String(op)}\`. It must be one of the following: ${OPS.join(', ')}.`);
  }
  if (!('path' in change)) throw new BadRequest("Unable to find 'path' in JSON Schema change");
  return [op as PatchOp, change['path']];
}

function opAndPath4(change: Record<string, unknown>): [PatchOp, unknown] {
  const present = OPS.filter((op) => op in change);
  if (present.length !== 1) {
    throw new BadRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".');
  }
  const op = present[0] as PatchOp;
  return [op, change[op]];
}

/** A JSON pointer of exactly one token, with `~1` and `~0` unescaped. */
function decodePath(path: unknown): string {
  if (typeof path !== 'string') throw new BadRequest('The path of a change must be a string.');
  if (!path.startsWith('/')) throw new BadRequest(`Pointer \`${path}\` does not start with "/".`);
  if (/~[^01]/.test(path) || path.endsWith('~')) {
    throw new BadRequest(`Pointer \`${path}\` contains "~" not part of a recognized escape sequence.`);
  }
  const tokens = path.slice(1).split('/');
  if (tokens.length !== 1 || tokens[0] === undefined || tokens[0].trim() === '') {
    throw new BadRequest(`Invalid JSON pointer for this resource: '${path}'`);
  }
  return tokens[0].replace(/~1/g, '/').replace(/~0/g, '~').trim();
}

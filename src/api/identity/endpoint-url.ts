/**
 * Endpoint URLs with substitutions, as Keystone allows them: `http://host:8776/v3/$(project_id)s` lists
 * each token's own project. Keystone formats the URL with Python's %-operator after turning `$(` into
 * `%(`; this accepts the part of that syntax URLs use (`$(name)s`, `%(name)s`, `%%` for a percent sign)
 * and refuses, as Keystone does at creation, any other `%` and any name outside its allowed list.
 */
import { BadRequest } from '../../common/errors.ts';

/** Keystone's whitelist. Stratus knows no value for the last two: an endpoint naming them is left out. */
const ALLOWED = new Set(['tenant_id', 'project_id', 'user_id', 'compute_host', 'public_endpoint']);

type Piece = string | { name: string };

/** The URL as literal text and substitutions; null when Keystone's formatting would fail on it. */
function parse(url: string): Piece[] | null {
  const text = url.replaceAll('$(', '%(');
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') {
      literal += text[i];
      continue;
    }
    if (text[i + 1] === '%') {
      literal += '%';
      i++;
      continue;
    }
    const match = /^%\(([^)]*)\)s/.exec(text.slice(i));
    if (!match || !ALLOWED.has(match[1]!)) return null;
    if (literal) pieces.push(literal);
    literal = '';
    pieces.push({ name: match[1]! });
    i += match[0].length - 1;
  }
  if (literal) pieces.push(literal);
  return pieces;
}

/** Whether the URL may differ from token to token (or needs its `%%` unescaped). */
export function isTemplated(url: string): boolean {
  return url.includes('%') || url.includes('$(');
}

/** Keystone's check_endpoint_url: a 400 for a URL it could not format. */
export function checkEndpointUrl(url: string): void {
  if (isTemplated(url) && parse(url) === null) {
    throw new BadRequest(`Cannot create an endpoint with an invalid URL: ${url}.`);
  }
}

/** The URL for one token; null leaves the endpoint out (a value the token does not have). */
export function formatEndpointUrl(url: string, values: Readonly<Record<string, string | null>>): string | null {
  const pieces = parse(url);
  if (pieces === null) return null;
  let out = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      out += piece;
      continue;
    }
    const value = values[piece.name];
    if (value === undefined || value === null) return null;
    out += value;
  }
  return out;
}

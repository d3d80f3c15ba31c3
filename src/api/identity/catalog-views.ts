/**
 * The JSON shapes of regions, services and endpoints, as Keystone renders them: the attributes a client
 * added (Keystone's `extra`) beside the resource's own, which win over an extra of the same name.
 */
import { BadRequest } from '../../common/errors.ts';
import { parseExtra, type CatalogServiceRow, type EndpointRow, type Extra, type RegionRow } from './store/catalog.ts';

export function regionView(base: string, r: RegionRow) {
  return {
    ...parseExtra(r.extra),
    id: r.id,
    description: r.description,
    parent_region_id: r.parent_region_id,
    links: { self: `${base}/regions/${encodeURIComponent(r.id)}` },
  };
}

export function serviceView(base: string, s: CatalogServiceRow) {
  return {
    ...parseExtra(s.extra),
    id: s.id,
    type: s.type,
    name: s.name,
    enabled: s.enabled === 1,
    links: { self: `${base}/services/${s.id}` },
  };
}

export function endpointView(base: string, e: EndpointRow) {
  return {
    ...parseExtra(e.extra),
    id: e.id,
    interface: e.interface,
    region_id: e.region_id,
    // Keystone still answers the v3.0 name of the region beside region_id.
    region: e.region_id,
    service_id: e.service_id,
    url: e.url,
    enabled: e.enabled === 1,
    links: { self: `${base}/endpoints/${e.id}` },
  };
}

/** Keystone's extra column is TEXT; beyond this a row would not fit on MariaDB. */
const MAX_EXTRA_BYTES = 65535;

/**
 * The members of a request body that are not the resource's own attributes, to keep as its extra;
 * `id` and `links` are never stored (Keystone replaces both in what it answers). `previous` is the
 * extra stored so far: an update adds to it and replaces what it names, as Keystone's does.
 */
export function extraOf(
  body: Record<string, unknown>,
  own: readonly string[],
  resource: string,
  previous: Extra = {},
): Extra {
  const extra: Extra = { ...previous };
  for (const [key, value] of Object.entries(body)) {
    if (!own.includes(key) && key !== 'id' && key !== 'links') extra[key] = value;
  }
  if (Buffer.byteLength(JSON.stringify(extra)) > MAX_EXTRA_BYTES) {
    throw new BadRequest(`Invalid input for ${resource}: its additional attributes exceed ${MAX_EXTRA_BYTES} bytes.`);
  }
  return extra;
}

/** Keystone's _require_matching_id: an update may name the resource's id, but only its own. */
export function requireMatchingId(body: Record<string, unknown>, id: string): void {
  const given = body['id'];
  if (given !== undefined && given !== id) {
    throw new BadRequest(`Cannot change the ID: '${String(given)}' is not '${id}'.`);
  }
}

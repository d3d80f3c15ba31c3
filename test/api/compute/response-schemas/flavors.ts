/**
 * Flavors, their extra specs and their access list (Nova's flavors, flavor extra specs and flavor
 * access API references). description from 2.55, extra_specs from 2.61, swap an integer from 2.75
 * (the empty string before meant no swap).
 */
import { byVersion, COLLECTION_LINKS, LINKS, NO_BODY, strictObject, stringMap, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const BREAKS = ['2.1', '2.55', '2.61', '2.75'];

function basic(at: (v: string) => boolean): Json {
  const properties: Json = { id: { type: 'string' }, name: { type: 'string' }, links: LINKS };
  if (at('2.55')) properties['description'] = { type: ['string', 'null'] };
  return strictObject(properties);
}

function flavor(at: (v: string) => boolean): Json {
  const properties: Json = {
    id: { type: 'string' },
    name: { type: 'string' },
    ram: { type: 'integer' },
    disk: { type: 'integer' },
    swap: at('2.75') ? { type: 'integer' } : { anyOf: [{ type: 'integer' }, { const: '' }] },
    'OS-FLV-EXT-DATA:ephemeral': { type: 'integer' },
    'OS-FLV-DISABLED:disabled': { type: 'boolean' },
    vcpus: { type: 'integer' },
    'os-flavor-access:is_public': { type: 'boolean' },
    rxtx_factor: { anyOf: [{ type: 'number' }, { const: '' }] },
    links: LINKS,
  };
  if (at('2.55')) properties['description'] = { type: ['string', 'null'] };
  const required = Object.keys(properties);
  // Shown when the policy lets the caller read extra specs, as Nova's default does for everyone.
  if (at('2.61')) properties['extra_specs'] = stringMap();
  return strictObject(properties, required);
}

const EXTRA_SPECS = strictObject({ extra_specs: stringMap() });
/**
 * Create and update answer with the specs as the request gave them: Nova accepts numbers and echoes
 * them back unconverted (later reads return strings).
 */
const AS_GIVEN: Json = { type: ['string', 'number'] };
const EXTRA_SPECS_AS_GIVEN = strictObject({ extra_specs: stringMap(AS_GIVEN) });
/** `{"<key>": "<value>"}`: one spec. */
const ONE_SPEC: Json = { ...stringMap(), minProperties: 1, maxProperties: 1 };
const ONE_SPEC_AS_GIVEN: Json = { ...stringMap(AS_GIVEN), minProperties: 1, maxProperties: 1 };
const ACCESS = strictObject({
  flavor_access: {
    type: 'array',
    items: strictObject({ flavor_id: { type: 'string' }, tenant_id: { type: 'string' } }),
  },
});

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/flavors',
    status: 200,
    schema: strictObject({ flavors: { type: 'array', items: basic(at) }, flavors_links: COLLECTION_LINKS }, [
      'flavors',
    ]),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/flavors/detail',
    status: 200,
    schema: strictObject({ flavors: { type: 'array', items: flavor(at) }, flavors_links: COLLECTION_LINKS }, [
      'flavors',
    ]),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'GET',
    path: '/flavors/:id',
    status: 200,
    schema: strictObject({ flavor: flavor(at) }),
  })),
  ...byVersion(BREAKS, (at) => ({
    method: 'POST',
    path: '/flavors',
    status: 200,
    schema: strictObject({ flavor: flavor(at) }),
  })),
  ...byVersion(BREAKS.slice(1), (at) => ({
    method: 'PUT',
    path: '/flavors/:id',
    status: 200,
    schema: strictObject({ flavor: flavor(at) }),
  })),
  { method: 'DELETE', path: '/flavors/:id', status: 202, schema: NO_BODY },

  { method: 'GET', path: '/flavors/:id/os-extra_specs', status: 200, schema: EXTRA_SPECS },
  { method: 'POST', path: '/flavors/:id/os-extra_specs', status: 200, schema: EXTRA_SPECS_AS_GIVEN },
  { method: 'GET', path: '/flavors/:id/os-extra_specs/:key', status: 200, schema: ONE_SPEC },
  { method: 'PUT', path: '/flavors/:id/os-extra_specs/:key', status: 200, schema: ONE_SPEC_AS_GIVEN },
  { method: 'DELETE', path: '/flavors/:id/os-extra_specs/:key', status: 200, schema: NO_BODY },

  { method: 'GET', path: '/flavors/:id/os-flavor-access', status: 200, schema: ACCESS },
  // addTenantAccess and removeTenantAccess answer with the access list as it now is.
  { method: 'POST', path: '/flavors/:id/action', status: 200, schema: ACCESS },
];

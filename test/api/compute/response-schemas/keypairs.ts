/**
 * os-keypairs responses, from Nova's API reference and response schemas (schemas/keypairs.py): `type`
 * from 2.2, `keypairs_links` from 2.35, no `private_key` from 2.92 (and `@`/`.` in names). A show carries
 * the soft-delete fields Nova never fills, and a naive `created_at` (microseconds, no zone) as Nova's.
 */
import type { ResponseSchema } from './types.ts';

const NAME_V21 = { type: 'string', pattern: '^[_\\- a-zA-Z0-9]+$', minLength: 1, maxLength: 255 };
const NAME_V292 = { type: 'string', pattern: '^[_\\-@. a-zA-Z0-9]+$', minLength: 1, maxLength: 255 };
const USER_ID = { type: 'string', pattern: '^[a-zA-Z0-9-]*$', minLength: 1, maxLength: 255 };
const TYPE = { type: 'string', enum: ['ssh', 'x509'] };
const NAIVE_TIME = { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}$' };

function object(properties: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return { type: 'object', properties, required, additionalProperties: false };
}

const wrapped = (keypair: Record<string, unknown>) => object({ keypair }, ['keypair']);

const LIST_FIELDS = { fingerprint: { type: 'string' }, public_key: { type: 'string' } };
const LIST_REQUIRED = ['fingerprint', 'name', 'public_key'];

function createBody(name: object, withType: boolean, privateKey: boolean): Record<string, unknown> {
  return wrapped(
    object(
      {
        ...LIST_FIELDS,
        name,
        user_id: USER_ID,
        ...(privateKey ? { private_key: { type: 'string' } } : {}),
        ...(withType ? { type: TYPE } : {}),
      },
      [...LIST_REQUIRED, 'user_id', ...(withType ? ['type'] : [])],
    ),
  );
}

function showBody(withType: boolean): Record<string, unknown> {
  return wrapped(
    object(
      {
        ...LIST_FIELDS,
        name: { type: 'string', minLength: 1, maxLength: 255 },
        user_id: USER_ID,
        created_at: NAIVE_TIME,
        updated_at: { type: 'null' },
        deleted: { type: 'boolean', const: false },
        deleted_at: { type: 'null' },
        id: { type: 'integer' },
        ...(withType ? { type: TYPE } : {}),
      },
      [
        ...LIST_REQUIRED,
        'user_id',
        'created_at',
        'updated_at',
        'deleted',
        'deleted_at',
        'id',
        ...(withType ? ['type'] : []),
      ],
    ),
  );
}

const LINKS = {
  type: 'array',
  items: object({ href: { type: 'string', format: 'uri' }, rel: { type: 'string', const: 'next' } }, ['href', 'rel']),
};

function listBody(withType: boolean, links: boolean): Record<string, unknown> {
  const item = object(
    { ...LIST_FIELDS, name: { type: 'string', minLength: 1, maxLength: 255 }, ...(withType ? { type: TYPE } : {}) },
    [...LIST_REQUIRED, ...(withType ? ['type'] : [])],
  );
  return object({ keypairs: { type: 'array', items: wrapped(item) }, ...(links ? { keypairs_links: LINKS } : {}) }, [
    'keypairs',
  ]);
}

const NO_BODY = { type: 'null' };

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'POST', path: '/os-keypairs', status: 200, maxVersion: '2.1', schema: createBody(NAME_V21, false, true) },
  {
    method: 'POST',
    path: '/os-keypairs',
    status: 201,
    minVersion: '2.2',
    maxVersion: '2.91',
    schema: createBody(NAME_V21, true, true),
  },
  { method: 'POST', path: '/os-keypairs', status: 201, minVersion: '2.92', schema: createBody(NAME_V292, true, false) },
  { method: 'GET', path: '/os-keypairs', status: 200, maxVersion: '2.1', schema: listBody(false, false) },
  {
    method: 'GET',
    path: '/os-keypairs',
    status: 200,
    minVersion: '2.2',
    maxVersion: '2.34',
    schema: listBody(true, false),
  },
  { method: 'GET', path: '/os-keypairs', status: 200, minVersion: '2.35', schema: listBody(true, true) },
  { method: 'GET', path: '/os-keypairs/:name', status: 200, maxVersion: '2.1', schema: showBody(false) },
  { method: 'GET', path: '/os-keypairs/:name', status: 200, minVersion: '2.2', schema: showBody(true) },
  { method: 'DELETE', path: '/os-keypairs/:name', status: 202, maxVersion: '2.1', schema: NO_BODY },
  { method: 'DELETE', path: '/os-keypairs/:name', status: 204, minVersion: '2.2', schema: NO_BODY },
];

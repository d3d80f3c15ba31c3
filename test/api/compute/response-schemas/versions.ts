/**
 * Version discovery (Nova's versions API reference): GET / lists the major versions, GET /v2 and
 * GET /v2.1 describe one. Paths: '/' and '/v2', '/v2/' are unversioned routes outside /v2.1; '' is the
 * v2.1 document, the root of the versioned routes (see schemaPath in response-check.ts); '/*' is any
 * other path, which answers 300 with the choices.
 */
import { strictObject, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const versionLink = strictObject(
  { rel: { enum: ['self', 'describedby'] }, href: { type: 'string', format: 'uri' }, type: { type: 'string' } },
  ['rel', 'href'],
);

const versionFields: Json = {
  id: { enum: ['v2.0', 'v2.1'] },
  status: { enum: ['CURRENT', 'SUPPORTED', 'DEPRECATED'] },
  version: { type: 'string' },
  min_version: { type: 'string' },
  updated: { type: 'string', format: 'date-time' },
  links: { type: 'array', items: versionLink },
};

const listed = strictObject(versionFields);
const mediaTypes: Json = {
  type: 'array',
  items: strictObject({ base: { const: 'application/json' }, type: { type: 'string' } }),
};
const described = strictObject({ ...versionFields, 'media-types': mediaTypes });
const document = strictObject({ version: described });

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'GET', path: '/', status: 200, schema: strictObject({ versions: { type: 'array', items: listed } }) },
  { method: 'GET', path: '/v2', status: 200, schema: document },
  { method: 'GET', path: '/v2/', status: 200, schema: document },
  { method: 'GET', path: '', status: 200, schema: document },
  {
    method: 'GET',
    path: '/*',
    status: 300,
    schema: strictObject({
      choices: {
        type: 'array',
        items: strictObject({
          id: { enum: ['v2.0', 'v2.1'] },
          status: { enum: ['CURRENT', 'SUPPORTED', 'DEPRECATED'] },
          links: { type: 'array', items: versionLink },
          'media-types': mediaTypes,
        }),
      },
    }),
  },
];

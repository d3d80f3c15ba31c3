/**
 * Strict response schemas of the server lifecycle routes (lock, unlock, os-resetState, server tags,
 * os-server-password), from Nova's API reference: the actions and the tag writes answer with no body.
 */
import type { ResponseSchema } from './types.ts';

const NO_BODY = { type: 'null' };

/** Nova's parameter_types.tag. */
const TAG = { type: 'string', pattern: '^[^,/]*$', minLength: 1, maxLength: 60 };

const TAG_LIST = {
  type: 'object',
  properties: { tags: { type: 'array', items: TAG, maxItems: 50 } },
  required: ['tags'],
  additionalProperties: false,
};

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  // lock, unlock and os-resetState (the body of POST /servers/{id}/action names the action).
  { method: 'POST', path: '/servers/:id/action', status: 202, schema: NO_BODY },
  // evacuate from 2.14 (200 with no body; before, `{adminPass}` as rescue answers).
  { method: 'POST', path: '/servers/:id/action', status: 200, schema: NO_BODY },
  // confirmResize (Nova's only 204 action).
  { method: 'POST', path: '/servers/:id/action', status: 204, schema: NO_BODY },
  { method: 'GET', path: '/servers/:id/tags', status: 200, minVersion: '2.26', schema: TAG_LIST },
  { method: 'PUT', path: '/servers/:id/tags', status: 200, minVersion: '2.26', schema: TAG_LIST },
  { method: 'DELETE', path: '/servers/:id/tags', status: 204, minVersion: '2.26', schema: NO_BODY },
  { method: 'GET', path: '/servers/:id/tags/:tag', status: 204, minVersion: '2.26', schema: NO_BODY },
  { method: 'PUT', path: '/servers/:id/tags/:tag', status: 201, minVersion: '2.26', schema: NO_BODY },
  { method: 'PUT', path: '/servers/:id/tags/:tag', status: 204, minVersion: '2.26', schema: NO_BODY },
  { method: 'DELETE', path: '/servers/:id/tags/:tag', status: 204, minVersion: '2.26', schema: NO_BODY },
  {
    method: 'GET',
    path: '/servers/:id/os-server-password',
    status: 200,
    schema: {
      type: 'object',
      properties: { password: { type: 'string' } },
      required: ['password'],
      additionalProperties: false,
    },
  },
  { method: 'DELETE', path: '/servers/:id/os-server-password', status: 204, schema: NO_BODY },
];

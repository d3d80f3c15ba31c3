/**
 * Nova's fault body, which every compute error answers with whatever the route: one key naming the kind
 * of fault, holding the status code and a message (`{"itemNotFound": {"code": 404, "message": "..."}}`).
 * The key follows the status as in Nova's fault wrapper; statuses it has no name for are computeFault.
 * overLimit may carry retryAfter. Used by response-check.ts for every 4xx and 5xx, so it is no per-route
 * entry of the registry.
 */

const FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

const schemas = new Map<number, Record<string, unknown>>();

/** The fault body of `status` (one schema object per status, so compiled once). */
export function faultSchema(status: number): Record<string, unknown> {
  let schema = schemas.get(status);
  if (!schema) {
    const name = FAULT_NAMES[status] ?? 'computeFault';
    const overLimit = name === 'overLimit';
    schema = {
      type: 'object',
      properties: {
        [name]: {
          type: 'object',
          properties: {
            code: { const: status },
            message: { type: 'string' },
            ...(overLimit ? { retryAfter: { type: 'string' } } : {}),
          },
          required: ['code', 'message'],
          additionalProperties: false,
        },
      },
      required: [name],
      additionalProperties: false,
    };
    schemas.set(status, schema);
  }
  return schema;
}

/**
 * Error bodies in the format each OpenStack API's clients parse: Nova's `{"itemNotFound": {...}}`,
 * Keystone's `{"error": {...}}`, Glance's `{"message", "code", "title"}`, Neutron's
 * `{"NeutronError": {"type", "message", "detail"}}`.
 */

export type ApiKind = 'compute' | 'identity' | 'image' | 'network';

const NOVA_FAULT_NAMES: Record<number, string> = {
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

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/**
 * `type` is Neutron's exception name (NetworkNotFound, IpAddressAlreadyAllocated, ...), which clients
 * such as openstacksdk match on; without one, Neutron's name for the plain HTTP error is used.
 */
export function errorBody(kind: ApiKind, status: number, message: string, type?: string): Record<string, unknown> {
  const title = TITLES[status] ?? 'Error';
  switch (kind) {
    case 'compute':
      return { [NOVA_FAULT_NAMES[status] ?? 'computeFault']: { code: status, message } };
    case 'identity':
      return { error: { code: status, title, message } };
    case 'image':
      return { code: status, title, message };
    case 'network':
      // A missing or bad token is refused by the authentication middleware before Neutron sees the
      // request, in Keystone's format, as keystonemiddleware does in front of the real Neutron.
      if (status === 401) return { error: { code: status, title, message } };
      return { NeutronError: { type: type ?? `HTTP${title.replaceAll(' ', '')}`, message, detail: '' } };
  }
}

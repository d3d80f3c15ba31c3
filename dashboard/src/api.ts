/**
 * The dashboard's only way to the cloud: the public OpenStack APIs, relayed by the dashboard's own
 * listener under /api/<service>/ (same origin), with the user's token. Errors carry the API's own words.
 */

export type Service = 'identity' | 'compute' | 'image' | 'network';

/**
 * The compute microversion the dashboard speaks: below 2.88 (hypervisors still report their capacity)
 * and 2.92 (the cloud still generates key pairs).
 */
export const COMPUTE_VERSION = '2.79';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Raw bytes (image uploads go through upload() for progress). */
  headers?: Record<string, string>;
  /** Stratus extensions to ask for (the `Stratus-Extensions` header). */
  extensions?: string[];
  token?: string | null;
}

let sessionToken: string | null = null;
let onUnauthorized: (message: string) => void = () => undefined;

/** The token calls use unless given one, and what to do when the cloud no longer accepts it. */
export function useToken(token: string | null, unauthorized?: (message: string) => void): void {
  sessionToken = token;
  if (unauthorized) onUnauthorized = unauthorized;
}

function requestHeaders(service: Service, options: CallOptions): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const token = options.token === undefined ? sessionToken : options.token;
  if (token) headers['x-auth-token'] = token;
  if (service === 'compute') headers['openstack-api-version'] = `compute ${COMPUTE_VERSION}`;
  if (options.extensions?.length) headers['stratus-extensions'] = options.extensions.join(', ');
  if (options.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return headers;
}

/** The message of an OpenStack error body, whichever API's format it is in. */
export function errorMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (typeof body.message === 'string') return body.message; // Glance
    for (const value of Object.values(body)) {
      // Nova {"badRequest": {...}}, Keystone {"error": {...}}, Neutron {"NeutronError": {...}}
      if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
        return (value as { message: string }).message;
      }
    }
  } catch {
    // not JSON: the text itself
  }
  return text.trim() || `HTTP ${status}`;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function callFull<T>(service: Service, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const response = await fetch(`api/${service}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: requestHeaders(service, options),
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  if (!response.ok) {
    const message = errorMessage(response.status, text);
    if (response.status === 401 && (options.token === undefined ? sessionToken : options.token)) {
      onUnauthorized(message);
    }
    throw new ApiError(response.status, message);
  }
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
}

export async function call<T>(service: Service, path: string, options: CallOptions = {}): Promise<T> {
  return (await callFull<T>(service, path, options)).body;
}

/**
 * Uploads `file` as an image's data (PUT /v2/images/{id}/file) with progress: fetch() cannot report
 * upload progress, XMLHttpRequest can.
 */
export function upload(imageId: string, file: Blob, progress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `api/image/v2/images/${encodeURIComponent(imageId)}/file`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    if (sessionToken) xhr.setRequestHeader('x-auth-token', sessionToken);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    };
    xhr.onload = () =>
      xhr.status < 300 ? resolve() : reject(new ApiError(xhr.status, errorMessage(xhr.status, xhr.responseText)));
    xhr.onerror = () => reject(new ApiError(0, 'The upload was cut off (network error).'));
    xhr.send(file);
  });
}

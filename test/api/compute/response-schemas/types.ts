/**
 * One strict response schema: the JSON schema of the body that `method path` answers with `status`, for
 * the microversions from minVersion to maxVersion (both included; absent means unbounded), written from
 * Nova's API reference. `path` is the route as registered under /v2.1, for example '/servers/:id'.
 */
export interface ResponseSchema {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly status: number;
  readonly minVersion?: string;
  readonly maxVersion?: string;
  readonly schema: Record<string, unknown>;
}

/**
 * Work a filter does on the request alone (parsing a hint, picking out the extra specs it reads), done once
 * per request rather than once per host: at 10,000 hosts the per-host cost of even an Object.entries shows.
 */
import type { RequestSpec } from '../../wire/messages/request-spec.ts';

export function perSpec<T>(derive: (spec: RequestSpec) => T): (spec: RequestSpec) => T {
  const cache = new WeakMap<RequestSpec, { value: T }>();
  return (spec) => {
    let entry = cache.get(spec);
    if (!entry) cache.set(spec, (entry = { value: derive(spec) }));
    return entry.value;
  };
}

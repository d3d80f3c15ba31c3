/**
 * JsonFilter (Nova's): hosts that satisfy the `query` scheduler hint (see json-query.ts). The API
 * refuses a query that does not parse; one that reaches the scheduler unparseable anyway (a request
 * recorded before that check) lets no host pass rather than be ignored.
 */
import { hintValues } from '../request-hints.ts';
import type { HostFilter } from './filter.ts';
import { hostMatchesQuery, parseJsonQuery, type JsonQuery } from './json-query.ts';
import { perSpec } from './spec-cache.ts';

const INVALID = Symbol('invalid query');

const queryOf = perSpec((spec): JsonQuery | null | typeof INVALID => {
  const [text] = hintValues(spec, 'query');
  try {
    return text ? parseJsonQuery(text) : null;
  } catch {
    return INVALID;
  }
});

export const JsonFilter: HostFilter = {
  name: 'JsonFilter',
  // An unparseable query applies: it lets no host pass.
  appliesTo: ({ spec }) => queryOf(spec) !== null,
  // Not once per request: a query may name what each pick changes, such as $free_ram_mb.
  passes(host, { spec }) {
    const query = queryOf(spec);
    if (query === null) return true;
    if (query === INVALID) return false;
    return hostMatchesQuery(query, host);
  },
};

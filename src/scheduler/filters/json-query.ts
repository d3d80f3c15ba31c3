/**
 * The query language of the JsonFilter (the `query` scheduler hint), as Nova's: a JSON list whose first
 * item is an operator and the rest its arguments, which may be nested queries, literals, or `$name`
 * variables naming host attributes (`$free_ram_mb`, `$cpu_info.arch`):
 *
 *   ["and", [">=", "$free_ram_mb", 1024], ["in", "$hypervisor_type", "qemu", "kvm"]]
 *
 * Comparisons (`=`, `<`, `>`, `<=`, `>=`) hold when the first argument compares so with every other;
 * `in` when the first equals one of the others; `not` negates each argument; `or`/`and` combine. An
 * argument that resolves to nothing (an unknown variable, an empty string) is dropped, as in Nova.
 */
import { hostAttribute, type AttributeValue } from '../host-attributes.ts';
import type { HostState } from '../host-state.ts';

export type JsonQuery = readonly [string, ...unknown[]];

type Value = AttributeValue | boolean[];

const COMPARISONS: Record<string, (a: number | string, b: number | string) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
};

export const JSON_QUERY_OPERATORS: readonly string[] = [...Object.keys(COMPARISONS), 'in', 'not', 'or', 'and'];

/** A query hint parsed and checked; throws an Error saying what is wrong (the API answers it as a 400). */
export function parseJsonQuery(text: string): JsonQuery | null {
  let query: unknown;
  try {
    query = JSON.parse(text);
  } catch (err) {
    throw new Error(`the query scheduler hint is not valid JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(query) && query.length === 0) return null;
  checkQuery(query);
  return query;
}

function checkQuery(query: unknown): asserts query is JsonQuery {
  if (!Array.isArray(query) || typeof query[0] !== 'string' || !JSON_QUERY_OPERATORS.includes(query[0])) {
    throw new Error(
      `the query scheduler hint must be a JSON list starting with one of ${JSON_QUERY_OPERATORS.join(' ')}, ` +
        `as ["and", [">=", "$free_ram_mb", 1024]]; got ${JSON.stringify(query)}`,
    );
  }
  for (const arg of query.slice(1)) if (Array.isArray(arg)) checkQuery(arg);
}

/** Python's truth of a value. */
function truthy(value: Value | undefined): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Python's `==` between two JSON values (1 == 1.0, lists and objects by content). */
function equal(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function comparable(a: Value, b: Value): boolean {
  return (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
}

function resolve(arg: unknown, host: HostState): Value | undefined {
  if (Array.isArray(arg)) return evaluate(arg as unknown as JsonQuery, host);
  if (typeof arg === 'string') {
    if (arg === '') return undefined;
    if (!arg.startsWith('$')) return arg;
    return hostAttribute(host, arg.slice(1).split('.'));
  }
  return arg as Value;
}

function evaluate(query: JsonQuery, host: HostState): Value {
  const [op, ...rawArgs] = query;
  const args: Value[] = [];
  for (const raw of rawArgs) {
    const value = resolve(raw, host);
    if (value !== undefined && value !== null) args.push(value);
  }
  switch (op) {
    case 'not':
      return args.map((a) => !truthy(a));
    case 'or':
      return args.some(truthy);
    case 'and':
      return args.every(truthy);
    case 'in': {
      if (args.length < 2) return false;
      const [first, ...rest] = args;
      return rest.some((r) => equal(first!, r));
    }
    default: {
      if (args.length < 2) return false;
      const [first, ...rest] = args;
      if (op === '=') return rest.every((r) => equal(first!, r));
      const compare = COMPARISONS[op]!;
      // Python refuses to order a number against a string; such a comparison fails here.
      return rest.every((r) => comparable(first!, r) && compare(first as number | string, r as number | string));
    }
  }
}

/** Whether the host satisfies the query (a list result, from `not`, passes if any item is true). */
export function hostMatchesQuery(query: JsonQuery, host: HostState): boolean {
  const result = evaluate(query, host);
  return Array.isArray(result) ? result.some(truthy) : truthy(result);
}

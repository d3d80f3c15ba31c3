/**
 * Query-string checks several compute resources share, with Nova's messages: from the microversion at
 * which Nova closed a query schema (`additionalProperties: false`), an unknown parameter is a 400.
 */
import { BadRequest } from '../../common/errors.ts';
import { parseClientTime } from './timestamps.ts';
import { queryValue, queryValues, type Query } from './validate.ts';

/** Refuses the first parameter not in `allowed`. */
export function rejectUnknownQuery(query: Query, allowed: readonly string[]): void {
  const unknown = Object.keys(query).find((k) => !allowed.includes(k));
  if (unknown !== undefined) {
    throw new BadRequest(
      `Invalid input for query parameters. Additional properties are not allowed ('${unknown}' was unexpected)`,
    );
  }
}

/** A date-time query parameter (`changes-since`, `changes-before`) in the stored format, or undefined. */
export function queryTime(query: Query, name: string): string | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  const parsed = parseClientTime(raw);
  if (!parsed) {
    throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' is not a 'date-time'`);
  }
  return parsed;
}

/** Refuses a parameter given more than once where Nova's schema takes a single value. */
export function rejectRepeatedQuery(query: Query, names: readonly string[]): void {
  for (const name of names) {
    const values = queryValues(query, name);
    if (values.length > 1) {
      throw new BadRequest(
        `Invalid input for query parameters ${name}. Value: ${JSON.stringify(values)}. ` +
          `${JSON.stringify(values)} is not of type 'string'`,
      );
    }
  }
}

/**
 * Option declarations. Each builder returns a typed descriptor: the parser that turns the INI text into a
 * value (or says what it expected), the default, the help text, and whether the value is a secret to mask.
 * `Config` is derived from the declarations, so `config.DEFAULT.report_interval` is a number to the compiler.
 */

import { parseCpuSet } from '../cpu-set.ts';

export interface OptionSpec<T> {
  readonly kind: string;
  readonly help: string;
  readonly default: T;
  /** Masked by `stratus config show`: 'all' hides the value, 'url-password' only the password of a URL. */
  readonly secret?: 'all' | 'url-password';
  /** Multi-valued: the option may be given several times; every occurrence counts (oslo MultiStrOpt). */
  readonly multi?: boolean;
  /** Turns one raw string into the value, or throws an Error whose message says what was expected. */
  parse(raw: string): T;
  /** For multi-valued options: combines the occurrences of one file. */
  combine?(values: T[]): T;
}

interface Common<T> {
  help: string;
  default: T;
  secret?: 'all' | 'url-password';
}

export function str(o: Common<string> & { choices?: readonly string[] }): OptionSpec<string> {
  return {
    kind: o.choices ? `one of ${o.choices.join(', ')}` : 'string',
    ...o,
    parse(raw) {
      if (o.choices && !o.choices.includes(raw)) {
        throw new Error(`expected one of ${o.choices.join(', ')}, got '${raw}'`);
      }
      return raw;
    },
  };
}

/** `parseValue` checks (and may rewrite) a value that is not empty. */
export function optionalStr(
  o: Common<string | null> & { parseValue?: (raw: string) => string },
): OptionSpec<string | null> {
  const { parseValue, ...common } = o;
  return { kind: 'string', ...common, parse: (raw) => (raw === '' ? null : parseValue ? parseValue(raw) : raw) };
}

export function int(o: Common<number> & { min?: number; max?: number }): OptionSpec<number> {
  return {
    kind: 'integer',
    ...o,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`expected an integer, got '${raw}'`);
      return checkRange(Number(raw), o.min, o.max);
    },
  };
}

export function float(o: Common<number> & { min?: number; max?: number }): OptionSpec<number> {
  return {
    kind: 'float',
    ...o,
    parse(raw) {
      const value = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`expected a number, got '${raw}'`);
      return checkRange(value, o.min, o.max);
    },
  };
}

export function optionalFloat(o: Common<number | null> & { min?: number }): OptionSpec<number | null> {
  return {
    kind: 'float',
    ...o,
    parse(raw) {
      if (raw.trim() === '') return null;
      const value = Number(raw.trim());
      if (!Number.isFinite(value)) throw new Error(`expected a number, got '${raw}'`);
      return checkRange(value, o.min, undefined);
    },
  };
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

export function bool(o: Common<boolean>): OptionSpec<boolean> {
  return {
    kind: 'boolean',
    ...o,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      throw new Error(`expected true or false, got '${raw}'`);
    },
  };
}

/** A comma-separated list (oslo ListOpt). */
export function list(o: Common<readonly string[]> & { choices?: readonly string[] }): OptionSpec<readonly string[]> {
  return {
    kind: 'comma-separated list',
    ...o,
    parse(raw) {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const item of items) {
        if (o.choices && !o.choices.includes(item)) {
          throw new Error(`unknown entry '${item}'; expected entries from ${o.choices.join(', ')}`);
        }
      }
      return items;
    },
  };
}

/** An option that may be repeated; each occurrence is one entry (oslo MultiStrOpt). */
export function multi(o: Common<readonly string[]>): OptionSpec<readonly string[]> {
  return {
    kind: 'string (may be repeated)',
    multi: true,
    ...o,
    parse: (raw) => [raw],
    combine: (values) => values.flat(),
  };
}

/** A CPU set in Nova's syntax ("0-3,^2,6"), parsed to its ids; empty means unset. */
export function optionalCpuSet(o: Common<readonly number[] | null>): OptionSpec<readonly number[] | null> {
  return {
    kind: 'CPU set (e.g. 0-3,^2,6)',
    ...o,
    parse: (raw) => (raw.trim() === '' ? null : parseCpuSet(raw)),
  };
}

function checkRange(value: number, min?: number, max?: number): number {
  if (min !== undefined && value < min) throw new Error(`expected a value >= ${min}, got ${value}`);
  if (max !== undefined && value > max) throw new Error(`expected a value <= ${max}, got ${value}`);
  return value;
}

export type OptionValue<S> = S extends OptionSpec<infer T> ? T : never;
export type SectionSpecs = Record<string, OptionSpec<unknown>>;

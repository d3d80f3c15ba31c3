/**
 * Loads the effective configuration: declared defaults, then each --config-file in order (a later file
 * wins option by option), then overrides given in code (tests, the all-in-one command). Anything unknown
 * or malformed is refused with the file, section and option named, before a service starts.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseIni, IniSyntaxError, type IniEntry } from './ini-parser.ts';
import { OPTIONS, type OptionsSpec } from './options.ts';
import type { OptionSpec, OptionValue } from './option-types.ts';

export type Config = {
  readonly [S in keyof OptionsSpec]: { readonly [K in keyof OptionsSpec[S]]: OptionValue<OptionsSpec[S][K]> };
};

/** Raw option values by section, as they would appear in a file; used for overrides. */
export type RawOverrides = { [S in keyof OptionsSpec]?: { [K in keyof OptionsSpec[S]]?: string } };

const specs = OPTIONS as unknown as Record<string, Record<string, OptionSpec<unknown>>>;

export function loadConfig(files: readonly string[] = [], overrides: RawOverrides = {}): Config {
  const values = new Map<string, Map<string, unknown>>();
  for (const [section, options] of Object.entries(specs)) {
    values.set(section, new Map(Object.entries(options).map(([k, spec]) => [k, spec.default])));
  }
  for (const file of files) applyEntries(values, readEntries(file), file);
  applyEntries(values, overrideEntries(overrides), 'overrides');
  interpolate(values);
  const config = Object.fromEntries([...values].map(([s, opts]) => [s, Object.fromEntries(opts)])) as Config;
  configDirsByConfig.set(config, [...new Set(files.map((f) => dirname(resolve(f))))]);
  return config;
}

const configDirsByConfig = new WeakMap<Config, readonly string[]>();

/** The directories of the files `config` was read from, in order: where oslo.config looks for policy.yaml. */
export function configDirs(config: Config): readonly string[] {
  return configDirsByConfig.get(config) ?? [];
}

/** Whether any of `files` sets the option: defaults a command may choose differently stay its to choose. */
export function isSetInFiles(files: readonly string[], section: string, key: string): boolean {
  return files.some((file) => readEntries(file).some((e) => e.section === section && e.key === key));
}

function readEntries(file: string): IniEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseIni(text, file);
  } catch (err) {
    if (err instanceof IniSyntaxError) throw new ConfigError(`malformed config file ${err.message}`);
    throw err;
  }
}

function overrideEntries(overrides: RawOverrides): IniEntry[] {
  const entries: IniEntry[] = [];
  for (const [section, options] of Object.entries(overrides as Record<string, Record<string, string>>)) {
    for (const [key, value] of Object.entries(options)) entries.push({ section, key, value, line: 0 });
  }
  return entries;
}

function applyEntries(values: Map<string, Map<string, unknown>>, entries: IniEntry[], source: string): void {
  const multiSeen = new Map<string, unknown[]>();
  for (const entry of entries) {
    const where = entry.line ? `${source}:${entry.line}` : source;
    const sectionSpecs = specs[entry.section];
    if (!sectionSpecs) {
      throw new ConfigError(
        `${where}: unknown section [${entry.section}]; known sections: ${Object.keys(specs).join(', ')}`,
      );
    }
    const spec = sectionSpecs[entry.key];
    if (!spec) {
      throw new ConfigError(
        `${where}: unknown option '${entry.key}' in [${entry.section}]` + suggestion(entry.key, sectionSpecs),
      );
    }
    let value: unknown;
    try {
      value = spec.parse(entry.value);
    } catch (err) {
      throw new ConfigError(`${where}: bad value for [${entry.section}] ${entry.key}: ${(err as Error).message}`);
    }
    if (spec.multi && spec.combine) {
      const id = `${entry.section}.${entry.key}`;
      const seen = multiSeen.get(id) ?? [];
      seen.push(value);
      multiSeen.set(id, seen);
      value = spec.combine(seen);
    }
    values.get(entry.section)?.set(entry.key, value);
  }
}

function suggestion(key: string, options: Record<string, unknown>): string {
  const close = Object.keys(options).filter((k) => k.includes(key) || key.includes(k) || editDistance(k, key) <= 2);
  return close.length ? `; did you mean ${close.join(' or ')}?` : `; see 'stratus config show' for the options`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Replaces `$name` and `${name}` in string values by the [DEFAULT] option of that name. */
function interpolate(values: Map<string, Map<string, unknown>>): void {
  const defaults = values.get('DEFAULT')!;
  const expand = (text: string, depth = 0): string =>
    text.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (match, braced?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare)!;
      const ref = defaults.get(name);
      if (ref === undefined) throw new ConfigError(`'${text}' refers to $${name}, which is not a [DEFAULT] option`);
      if (depth > 5) throw new ConfigError(`'${text}': interpolation of $${name} loops`);
      return expand(String(ref), depth + 1);
    });
  for (const options of values.values()) {
    for (const [key, value] of options) {
      if (typeof value === 'string' && value.includes('$')) options.set(key, expand(value));
    }
  }
}

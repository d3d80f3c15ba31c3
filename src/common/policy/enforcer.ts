/**
 * Evaluating parsed rules as oslo.policy does. Credentials are the caller's (`user_id`, `project_id`,
 * `roles`, `is_admin`, ...); the target is the resource acted on (`project_id`, `user_id` of its owner,
 * ...). `role:` compares case-insensitively with the caller's roles; any other `field:value` check
 * substitutes `%(name)s` from the target into the value and compares it with the credential `field` (a
 * dotted field walks into nested values; a quoted or literal left side is compared as such). A
 * substitution the target lacks fails the check, as in oslo.
 */
import { parseRule, type Check } from './parser.ts';

export type PolicyValue = string | number | boolean | null | undefined | readonly string[];
/** The caller; values may nest (`token.project.domain.id` walks into them). */
export type Credentials = Readonly<Record<string, unknown>>;
export type Target = Readonly<Record<string, PolicyValue>>;

/** Rules by name, parsed. */
export type RuleSet = ReadonlyMap<string, Check>;

export function parseRules(rules: Readonly<Record<string, string>>): Map<string, Check> {
  return new Map(Object.entries(rules).map(([name, text]) => [name, parseRule(text)]));
}

/** Python's str() of a value, which is what oslo compares. */
function pyStr(value: unknown): string {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null || value === undefined) return 'None';
  return String(value);
}

/** `%(name)s` from the target; null when the target lacks a name (the check then fails). */
function interpolate(match: string, target: Target): string | null {
  let missing = false;
  const out = match.replace(/%\(([^)]+)\)s|%%/g, (whole, key: string | undefined) => {
    if (key === undefined) return '%';
    if (!(key in target)) {
      missing = true;
      return '';
    }
    const value = target[key];
    return Array.isArray(value) ? `[${value.map((v) => `'${String(v)}'`).join(', ')}]` : pyStr(value);
  });
  return missing ? null : out;
}

/** A left side oslo reads as a Python literal ('quoted', True, 123) instead of a credential name. */
function literalOf(field: string): string | null {
  const quoted = /^(['"])(.*)\1$/.exec(field);
  if (quoted) return quoted[2]!;
  if (field === 'True' || field === 'False' || field === 'None') return field;
  if (/^-?\d+(\.\d+)?$/.test(field)) return field;
  return null;
}

function credentialOf(field: string, creds: Credentials): unknown {
  let value: unknown = creds;
  for (const segment of field.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return NO_VALUE;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}
const NO_VALUE = Symbol('no value');

/**
 * Evaluates `check`. A `rule:` naming no rule fails (oslo's behaviour); `depth` stops a loop of rules
 * referring to each other, which the loader refuses anyway.
 */
export function evaluate(check: Check, rules: RuleSet, target: Target, creds: Credentials, depth = 0): boolean {
  switch (check.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'not':
      return !evaluate(check.check, rules, target, creds, depth);
    case 'and':
      return check.checks.every((c) => evaluate(c, rules, target, creds, depth));
    case 'or':
      return check.checks.some((c) => evaluate(c, rules, target, creds, depth));
    case 'rule': {
      const rule = rules.get(check.name);
      if (!rule || depth > 50) return false;
      return evaluate(rule, rules, target, creds, depth + 1);
    }
    case 'role': {
      const match = interpolate(check.match, target);
      const roles = creds['roles'];
      if (match === null || !Array.isArray(roles)) return false;
      return roles.some((r) => String(r).toLowerCase() === match.toLowerCase());
    }
    case 'generic': {
      const match = interpolate(check.match, target);
      if (match === null) return false;
      const literal = literalOf(check.field);
      if (literal !== null) return literal === match;
      const value = credentialOf(check.field, creds);
      if (value === NO_VALUE) return false;
      if (Array.isArray(value)) return value.some((v) => pyStr(v) === match);
      return pyStr(value) === match;
    }
  }
}

/** Names of the rules `check` refers to with `rule:`. */
export function referencedRules(check: Check): string[] {
  switch (check.kind) {
    case 'rule':
      return [check.name];
    case 'not':
      return referencedRules(check.check);
    case 'and':
    case 'or':
      return check.checks.flatMap(referencedRules);
    default:
      return [];
  }
}

/** A rule that reaches itself through `rule:` references, or null. */
export function findCycle(rules: RuleSet): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | null => {
    const mark = state.get(name);
    if (mark === 'done') return null;
    if (mark === 'visiting') return [...path.slice(path.indexOf(name)), name];
    const rule = rules.get(name);
    if (!rule) return null;
    state.set(name, 'visiting');
    for (const next of referencedRules(rule)) {
      const cycle = visit(next, [...path, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return null;
  };
  for (const name of rules.keys()) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return null;
}

export { parseRule };

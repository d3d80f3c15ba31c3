/**
 * Reading an oslo.policy file: YAML (JSON being YAML too) mapping rule names to rule strings. Anything
 * else — a list, a nested value, a rule that does not parse — is refused with the file and rule named.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseRule, PolicySyntaxError } from '../../common/policy/parser.ts';

export class PolicyFileError extends Error {}

/** The rules of the file at `path`, validated; null when there is no such file (defaults apply). */
export function readPolicyFile(path: string): Record<string, string> | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PolicyFileError(`cannot read policy file ${path}: ${(err as Error).message}`);
  }
  return parsePolicyText(text, path);
}

export function parsePolicyText(text: string, source: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PolicyFileError(`policy file ${source} is not valid YAML: ${(err as Error).message}`);
  }
  // An empty file, or one of comments only, overrides nothing.
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new PolicyFileError(`policy file ${source} must map rule names to rule strings`);
  }
  const rules: Record<string, string> = {};
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof value !== 'string') {
      throw new PolicyFileError(`policy file ${source}: rule "${name}" must be a string, not ${JSON.stringify(value)}`);
    }
    try {
      parseRule(value);
    } catch (err) {
      if (err instanceof PolicySyntaxError) {
        throw new PolicyFileError(`policy file ${source}: rule "${name}": ${err.message}`);
      }
      throw err;
    }
    Object.defineProperty(rules, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return rules;
}

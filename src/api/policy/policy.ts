/**
 * The enforcer the APIs ask: the registered defaults of each API with the operator's policy file laid
 * over them. A rule the file names replaces the default of every API that registers it; a name no API
 * registers is kept (other rules may refer to it with `rule:`) and warned about when nothing does. The
 * file is checked for changes at most once a second, as oslo.policy re-reads it when it changes; a
 * changed file that no longer parses is logged and the rules in force stay.
 */
import { statSync } from 'node:fs';
import { getLogger } from '../../common/log/logger.ts';
import type { PolicyEnforcer } from '../../common/policy/active.ts';
import {
  evaluate,
  findCycle,
  parseRules,
  referencedRules,
  type Credentials,
  type Target,
} from '../../common/policy/enforcer.ts';
import type { Check } from '../../common/policy/parser.ts';
import { readPolicyFile } from './policy-file.ts';
import { PolicyFileError } from './policy-file.ts';
import { DEFAULT_RULES, isRegistered, POLICY_APIS, type PolicyApi } from './registry.ts';

const log = getLogger('policy');
const RECHECK_MS = 1000;

type RuleSets = Readonly<Record<PolicyApi, ReadonlyMap<string, Check>>>;

export class UnregisteredRule extends Error {}

export class Policy implements PolicyEnforcer {
  private sets: RuleSets;
  /** Rules the file names that no API checks and no rule refers to (each warned about at load). */
  unknownRules: readonly string[] = [];
  private mtimeMs: number | null;
  private checkedAt = Date.now();

  /** `file` null: the defaults only. Throws PolicyFileError for a file that is not a valid policy. */
  constructor(private readonly file: string | null = null) {
    this.mtimeMs = this.currentMtime();
    this.sets = this.load();
  }

  /** Whether the rule `name` of `api` allows `creds` to act on `target`; an unregistered name throws. */
  allows(api: string, name: string, target: Target, creds: Credentials): boolean {
    this.reloadIfChanged();
    const set = this.sets[api as PolicyApi] as ReadonlyMap<string, Check> | undefined;
    if (!set) throw new UnregisteredRule(`no policy rules are registered for an API named ${api}`);
    const rule = set.get(name);
    if (!rule) throw new UnregisteredRule(`policy rule ${name} is not registered for the ${api} API`);
    return evaluate(rule, set, target, creds);
  }

  /** The rules in force for `api`, by name, as strings (for `stratus-manage policy effective`). */
  static defaults(api: PolicyApi): Record<string, string> {
    return Object.fromEntries(DEFAULT_RULES[api].map(([name, check]) => [name, check]));
  }

  private load(): RuleSets {
    const overrides = this.file ? (readPolicyFile(this.file) ?? {}) : {};
    const sets = {} as Record<PolicyApi, Map<string, Check>>;
    for (const api of POLICY_APIS) {
      const rules = parseRules({ ...Policy.defaults(api), ...overrides });
      const cycle = findCycle(rules);
      if (cycle)
        throw new PolicyFileError(
          `policy file ${this.file}: rules refer to each other in a loop: ${cycle.join(' -> ')}`,
        );
      sets[api] = rules;
    }
    this.unknownRules = unknownRules(overrides, sets);
    for (const rule of this.unknownRules) {
      log.warn(
        { file: this.file, rule },
        `policy file names rule "${rule}", which no API checks and no rule refers to`,
      );
    }
    return sets;
  }

  private currentMtime(): number | null {
    if (!this.file) return null;
    try {
      return statSync(this.file).mtimeMs;
    } catch {
      return null;
    }
  }

  private reloadIfChanged(): void {
    if (!this.file) return;
    const now = Date.now();
    if (now - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = now;
    const mtime = this.currentMtime();
    if (mtime === this.mtimeMs) return;
    try {
      this.sets = this.load();
      this.mtimeMs = mtime;
      log.info({ file: this.file }, 'policy file reloaded');
    } catch (err) {
      this.mtimeMs = mtime;
      log.error({ err, file: this.file }, 'policy file changed but is invalid; the rules in force stay');
    }
  }
}

function unknownRules(overrides: Record<string, string>, sets: Record<PolicyApi, Map<string, Check>>): string[] {
  const referenced = new Set(
    POLICY_APIS.flatMap((api) => [...sets[api].values()].flatMap((check) => referencedRules(check))),
  );
  return Object.keys(overrides).filter((name) => !isRegistered(name) && !referenced.has(name));
}

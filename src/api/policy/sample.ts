/**
 * Policy files as oslo's generators write them: one `"name": "check"` line per rule under a comment
 * with the operations it guards, grouped by API. The defaults come out commented (the sample
 * generator's way: uncomment a line to change it); the effective rules plain.
 */
import { stringify } from 'yaml';
import { ConfigError } from '../../common/errors.ts';
import type { RuleDefault } from '../../common/policy/types.ts';
import { POLICY_APIS, type PolicyApi } from './registry.ts';

/** The APIs an `--api` option names: one, or all when absent; an unknown name is refused. */
export function apisOf(api: string | undefined): readonly PolicyApi[] {
  if (api === undefined) return POLICY_APIS;
  if (!(POLICY_APIS as readonly string[]).includes(api)) {
    throw new ConfigError(`unknown API '${api}'; known: ${POLICY_APIS.join(', ')}`);
  }
  return [api as PolicyApi];
}

export function policyYaml(
  apis: readonly PolicyApi[],
  rulesOf: (api: PolicyApi) => readonly RuleDefault[],
  commented: boolean,
): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const api of apis) {
    lines.push(`# ---- ${api} API ----`, '');
    for (const [name, check, doc] of rulesOf(api)) {
      // A base rule two APIs share (context_is_admin) is one line of the file: it applies to both.
      if (seen.has(name)) continue;
      seen.add(name);
      const line = stringify(
        { [name]: check },
        { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'QUOTE_DOUBLE' },
      ).trimEnd();
      lines.push(`# ${doc}`, commented ? `#${line}` : line, '');
    }
  }
  return lines.join('\n');
}

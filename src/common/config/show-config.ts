/** Renders the effective configuration as an INI file, with secrets masked, for `stratus config show`. */
import { OPTIONS } from './options.ts';
import type { OptionSpec } from './option-types.ts';
import type { Config } from './load-config.ts';

/** Masks the password of every `user:pass@` in the URL's host list (a transport_url may name several brokers). */
export function maskUrlPassword(url: string): string {
  return url.replace(
    /^([a-z0-9+.-]+:\/\/)(.*)$/is,
    (_match, scheme: string, rest: string) => scheme + rest.replace(/(^|,)([^:/@,]*:)([^@]*?)@/g, '$1$2****@'),
  );
}

export function renderConfig(config: Config, withHelp = true): string {
  const out: string[] = [];
  const specs = OPTIONS as unknown as Record<string, Record<string, OptionSpec<unknown>>>;
  const values = config as unknown as Record<string, Record<string, unknown>>;
  for (const [section, options] of Object.entries(specs)) {
    out.push(`[${section}]`);
    for (const [key, spec] of Object.entries(options)) {
      if (withHelp) out.push(`# ${spec.help} (${spec.kind})`);
      const value = values[section]?.[key];
      for (const text of formatValue(value, spec)) out.push(`${key} = ${text}`);
    }
    out.push('');
  }
  return out.join('\n');
}

function formatValue(value: unknown, spec: OptionSpec<unknown>): string[] {
  if (spec.secret === 'all' && value) return ['****'];
  if (spec.multi && Array.isArray(value)) return value.length ? value.map(String) : [''];
  if (Array.isArray(value)) return [value.join(',')];
  if (value === null || value === undefined) return [''];
  const text = String(value);
  return [spec.secret === 'url-password' ? maskUrlPassword(text) : text];
}

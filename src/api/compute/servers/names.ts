/** Names derived from a server: its guest name on the hypervisor and its DNS-safe hostname. */

/**
 * `instance_name_template` applied as Python's % operator would: either one positional value, the
 * instance's integer id (`instance-%08x`), or named fields (`%(uuid)s`, `%(id)d`).
 */
export function instanceName(template: string, id: number, uuid: string): string {
  let format = compiledTemplates.get(template);
  if (!format) {
    format = compileTemplate(template);
    compiledTemplates.set(template, format);
  }
  return format(id, uuid);
}

/** One template per deployment, applied to every server of a list: parsed once, not per server. */
const compiledTemplates = new Map<string, (id: number, uuid: string) => string>();

function compileTemplate(template: string): (id: number, uuid: string) => string {
  const parts: ((id: number, uuid: string) => string)[] = [];
  let last = 0;
  for (const m of template.matchAll(/%(?:\((\w+)\))?(0?)(\d*)([sdxX%])/g)) {
    const literal = template.slice(last, m.index);
    parts.push(() => literal);
    last = m.index + m[0].length;
    const [match, key, zero, width, kind] = m as unknown as [string, string | undefined, string, string, string];
    if (kind === '%') {
      parts.push(() => '%');
      continue;
    }
    if (key !== undefined && key !== 'id' && key !== 'uuid') {
      parts.push(() => match);
      continue;
    }
    parts.push((id, uuid) => {
      const value = key === 'uuid' ? uuid : id;
      let text =
        kind === 's'
          ? String(value)
          : kind === 'd'
            ? String(Math.trunc(Number(value)))
            : Math.trunc(Number(value)).toString(16);
      if (kind === 'X') text = text.toUpperCase();
      return width ? text.padStart(Number(width), zero ? '0' : ' ') : text;
    });
  }
  const tail = template.slice(last);
  parts.push(() => tail);
  return (id, uuid) => {
    let name = '';
    for (const part of parts) name += part(id, uuid);
    return name;
  };
}

/** Nova's sanitize_hostname: RFC 952/1123 characters, lower case, at most 63 of them. */
export function sanitizeHostname(name: string): string {
  let host = [...name].filter((c) => c.charCodeAt(0) <= 0xff).join('');
  host = host.slice(0, 63);
  host = host.replace(/[ _.]/g, '-');
  host = host.replace(/[^\p{L}\p{N}_.-]+/gu, '');
  host = host.toLowerCase();
  return host.replace(/^[.-]+|[.-]+$/g, '');
}

/** Names derived from a server: its guest name on the hypervisor and its DNS-safe hostname. */

/**
 * `instance_name_template` applied as Python's % operator would: either one positional value, the
 * instance's integer id (`instance-%08x`), or named fields (`%(uuid)s`, `%(id)d`).
 */
export function instanceName(template: string, id: number, uuid: string): string {
  const fields: Record<string, string | number> = { id, uuid };
  return template.replace(
    /%(?:\((\w+)\))?(0?)(\d*)([sdxX%])/g,
    (match, key: string | undefined, zero: string, width: string, kind: string) => {
      if (kind === '%') return '%';
      const value = key !== undefined ? fields[key] : id;
      if (value === undefined) return match;
      let text =
        kind === 's'
          ? String(value)
          : kind === 'd'
            ? String(Math.trunc(Number(value)))
            : Math.trunc(Number(value)).toString(16);
      if (kind === 'X') text = text.toUpperCase();
      return width ? text.padStart(Number(width), zero ? '0' : ' ') : text;
    },
  );
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

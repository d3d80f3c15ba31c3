/**
 * A parser for nova.conf-style INI files, written for what oslo.config accepts and generic INI libraries
 * get wrong: a key may repeat (multi-valued options keep every occurrence), `;` and `#` start a comment
 * only at the start of a line (a value such as a URL may contain them), and an indented line continues the
 * value above it.
 */

export interface IniEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export class IniSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

export function parseIni(text: string, file: string): IniEntry[] {
  const entries: IniEntry[] = [];
  let section: string | null = null;
  let last: { section: string; key: string; value: string; line: number } | null = null;
  const flush = () => {
    if (last) entries.push(last);
    last = null;
  };

  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (/^\s*([#;].*)?$/.test(raw)) return; // blank or comment
    if (/^\s/.test(raw) && last) {
      last.value = `${last.value}\n${raw.trim()}`; // continuation line
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(raw.trim());
    if (header?.[1]) {
      flush();
      section = header[1].trim();
      return;
    }
    const assignment = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw.trim());
    if (!assignment?.[1]) {
      throw new IniSyntaxError(file, lineNo, `cannot read '${raw.trim()}': expected 'option = value' or '[section]'`);
    }
    if (section === null) {
      throw new IniSyntaxError(file, lineNo, `option '${assignment[1]}' comes before any [section] header`);
    }
    flush();
    last = { section, key: assignment[1], value: unquote(assignment[2] ?? ''), line: lineNo };
  });
  flush();
  return entries;
}

function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m?.[1] ?? value;
}

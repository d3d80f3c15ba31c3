/**
 * oslo.policy's rule language: checks (`role:admin`, `rule:admin_api`, `project_id:%(project_id)s`,
 * `is_admin:True`, `@`, `!`, any `field:value`), combined with `and`, `or`, `not` and parentheses, where
 * `not` binds tightest and `and` binds tighter than `or`, as in oslo. The empty string allows everyone.
 * Unlike oslo, which logs a rule it cannot parse and then denies it, a malformed rule is an error here, so
 * a deployment refuses to start on a typo instead of silently locking an action.
 */

export type Check =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'rule'; readonly name: string }
  | { readonly kind: 'role'; readonly match: string }
  | { readonly kind: 'generic'; readonly field: string; readonly match: string }
  | { readonly kind: 'not'; readonly check: Check }
  | { readonly kind: 'and'; readonly checks: readonly Check[] }
  | { readonly kind: 'or'; readonly checks: readonly Check[] };

export class PolicySyntaxError extends Error {}

/** Parses one rule string; throws PolicySyntaxError naming what is wrong. */
export function parseRule(text: string): Check {
  const tokens = tokenize(text);
  if (tokens.length === 0) return { kind: 'true' };
  const parser = new Parser(tokens, text);
  const check = parser.parseOr();
  if (!parser.atEnd()) parser.fail(`unexpected '${parser.peek()}'`);
  return check;
}

/** Splits on whitespace, with each parenthesis a token of its own (oslo does the same). */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    let rest = word;
    while (rest.startsWith('(')) {
      tokens.push('(');
      rest = rest.slice(1);
    }
    const closing: string[] = [];
    while (rest.endsWith(')')) {
      closing.push(')');
      rest = rest.slice(0, -1);
    }
    if (rest !== '') tokens.push(rest);
    tokens.push(...closing);
  }
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not']);

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: readonly string[],
    private readonly text: string,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.tokens.length;
  }

  peek(): string | undefined {
    return this.tokens[this.pos];
  }

  fail(message: string): never {
    throw new PolicySyntaxError(`${message} in rule "${this.text}"`);
  }

  parseOr(): Check {
    const checks = [this.parseAnd()];
    while (this.peek()?.toLowerCase() === 'or') {
      this.pos++;
      checks.push(this.parseAnd());
    }
    return checks.length === 1 ? checks[0]! : { kind: 'or', checks };
  }

  private parseAnd(): Check {
    const checks = [this.parseNot()];
    while (this.peek()?.toLowerCase() === 'and') {
      this.pos++;
      checks.push(this.parseNot());
    }
    return checks.length === 1 ? checks[0]! : { kind: 'and', checks };
  }

  private parseNot(): Check {
    if (this.peek()?.toLowerCase() === 'not') {
      this.pos++;
      return { kind: 'not', check: this.parseNot() };
    }
    return this.parseAtom();
  }

  private parseAtom(): Check {
    const token = this.peek();
    if (token === undefined) this.fail('rule ends where a check was expected');
    this.pos++;
    if (token === '(') {
      const inner = this.parseOr();
      if (this.peek() !== ')') this.fail("missing ')'");
      this.pos++;
      return inner;
    }
    if (token === ')') this.fail("unexpected ')'");
    if (KEYWORDS.has(token.toLowerCase())) this.fail(`'${token}' where a check was expected`);
    return parseCheck(token, (m) => this.fail(m));
  }
}

function parseCheck(token: string, fail: (message: string) => never): Check {
  if (token === '@') return { kind: 'true' };
  if (token === '!') return { kind: 'false' };
  const colon = token.indexOf(':');
  if (colon <= 0 || colon === token.length - 1) fail(`'${token}' is not a check (want kind:value, '@' or '!')`);
  const kind = token.slice(0, colon);
  const match = token.slice(colon + 1);
  checkInterpolations(match, fail);
  switch (kind) {
    case 'rule':
      return { kind: 'rule', name: match };
    case 'role':
      return { kind: 'role', match };
    case 'http':
    case 'https':
      return fail(`'${kind}:' checks (a remote policy server) are not supported`);
    default:
      return { kind: 'generic', field: kind, match };
  }
}

/** Only `%(name)s` substitutions, as Python's %-formatting of a mapping accepts them here. */
function checkInterpolations(match: string, fail: (message: string) => never): void {
  const stripped = match.replace(/%\([^)]+\)s/g, '').replace(/%%/g, '');
  if (stripped.includes('%')) fail(`'${match}' has a '%' that is not a %(name)s substitution`);
}

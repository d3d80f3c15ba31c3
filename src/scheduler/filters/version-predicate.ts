/**
 * The version requirement an image may state in `img_hv_requested_version` (for example `>=6.0, <8`),
 * checked against a node's integer `hypervisor_version`, as Nova's ImagePropertiesFilter does with
 * Python's VersionPredicate: comma-separated comparisons, all of which must hold; a bare version means
 * equality. Node versions are integers of three decimal digits per part (QEMU 7.2.0 is 7002000).
 */

type Operator = '<' | '<=' | '==' | '!=' | '>=' | '>';
type Comparison = readonly [Operator, readonly number[]];

const COMPARISON = /^\s*(<=|>=|==|!=|<|>)?\s*(\d+(?:\.\d+)*)\s*$/;

/** The comparisons of a requirement, or null when it is not one (Nova's filter would fail on it). */
export function parseVersionRequirement(text: string): readonly Comparison[] | null {
  const comparisons: Comparison[] = [];
  for (const part of text.split(',')) {
    const m = COMPARISON.exec(part);
    if (!m) return null;
    comparisons.push([(m[1] ?? '==') as Operator, m[2]!.split('.').map(Number)]);
  }
  return comparisons;
}

/** `7002000` as `[7, 2, 0]`: three decimal digits per part, most significant first. */
function versionParts(version: number): number[] {
  const parts: number[] = [];
  for (let rest = Math.trunc(version); rest > 0; rest = Math.trunc(rest / 1000)) parts.unshift(rest % 1000);
  return parts;
}

function compare(a: readonly number[], b: readonly number[]): number {
  // Missing parts are zeros: 6.0 and 6.0.0 are the same version.
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function satisfies(version: number, requirement: readonly Comparison[]): boolean {
  const have = versionParts(version);
  return requirement.every(([op, wanted]) => {
    const d = compare(have, wanted);
    switch (op) {
      case '<':
        return d < 0;
      case '<=':
        return d <= 0;
      case '==':
        return d === 0;
      case '!=':
        return d !== 0;
      case '>=':
        return d >= 0;
      case '>':
        return d > 0;
    }
  });
}

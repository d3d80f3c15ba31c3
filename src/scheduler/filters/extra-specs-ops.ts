/**
 * The requirement syntax of flavor extra specs, as Nova's extra_specs_ops, shared by the
 * AggregateInstanceExtraSpecsFilter and the ComputeCapabilitiesFilter. A requirement is either a plain
 * value (exact string match) or an operator and operand(s):
 *
 *   `= 2`  (at least, numerically)   `== 2`  `!= 2`  `>= 2`  `<= 2`     numbers
 *   `s== a`  `s!= a`  `s< a`  `s<= a`  `s> a`  `s>= a`                  strings
 *   `<in> ssd`          the value contains `ssd`
 *   `<all-in> a b`      the value contains each word
 *   `<or> a <or> b`     the value is one of the words
 */

type Op = (value: string, operand: string) => boolean;

/** Python's float() of a string, or NaN where Python would refuse it (a numeric operator then fails). */
function toFloat(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(t)) return NaN;
  return Number(t);
}

const numeric =
  (compare: (a: number, b: number) => boolean): Op =>
  (value, operand) => {
    const a = toFloat(value);
    const b = toFloat(operand);
    return !Number.isNaN(a) && !Number.isNaN(b) && compare(a, b);
  };

const OPS: Record<string, Op> = {
  // Nova's odd one: `=` means "at least".
  '=': numeric((a, b) => a >= b),
  '==': numeric((a, b) => a === b),
  '!=': numeric((a, b) => a !== b),
  '>=': numeric((a, b) => a >= b),
  '<=': numeric((a, b) => a <= b),
  '<in>': (value, operand) => value.includes(operand),
  's==': (a, b) => a === b,
  's!=': (a, b) => a !== b,
  's<': (a, b) => a < b,
  's<=': (a, b) => a <= b,
  's>': (a, b) => a > b,
  's>=': (a, b) => a >= b,
};

/** Whether `value` (null: the host has none) meets `requirement`. */
export function matchesRequirement(value: string | null, requirement: string): boolean {
  const words = requirement.split(/\s+/).filter((w) => w !== '');
  const op = words.shift();
  const isOperator = op !== undefined && (op === '<or>' || op === '<all-in>' || Object.hasOwn(OPS, op));
  if (!isOperator) return value === requirement;
  if (value === null) return false;
  if (op === '<or>') {
    // `<or> a <or> b`: the words at even places are the choices.
    return words.some((word, i) => i % 2 === 0 && word === value);
  }
  if (!words.length) return false;
  if (op === '<all-in>') return words.every((word) => value.includes(word));
  return OPS[op]!(value, words[0]!);
}

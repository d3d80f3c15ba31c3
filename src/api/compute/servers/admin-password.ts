/**
 * The admin password of a new server, as Nova's create picks it: the `adminPass` the request gives, else
 * a generated one (utils.generate_password: `[DEFAULT] password_length` characters, at least one from
 * each of its groups of symbols, none of the look-alikes 0/O, 1/l/I).
 */
import { randomInt } from 'node:crypto';

const SYMBOL_GROUPS = ['23456789', 'ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz'];
const ALL_SYMBOLS = SYMBOL_GROUPS.join('');

function shuffle(chars: string[]): string[] {
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars;
}

export function generatePassword(length: number): string {
  // One of each group first (some password policies demand it), shuffled so the groups' places vary.
  const chars = shuffle(SYMBOL_GROUPS.map((group) => group[randomInt(group.length)]!)).slice(0, length);
  while (chars.length < length) chars.push(ALL_SYMBOLS[randomInt(ALL_SYMBOLS.length)]!);
  return shuffle(chars).join('');
}

export function adminPassword(requested: string | undefined, length: number): string {
  return requested ?? generatePassword(length);
}

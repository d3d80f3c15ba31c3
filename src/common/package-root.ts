/**
 * The directory of Stratus's package.json. Found by walking up from this module, because the same code
 * runs from src/ (tests, through tsx) and from a bundle in dist/<build>/ (the commands; see
 * scripts/build.mjs), at different depths below the root.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
  }
}

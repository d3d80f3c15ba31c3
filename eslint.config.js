// Lint: typescript-eslint with type information (it catches unawaited promises), plus the layering
// rules of docs/architecture.md ("Rules of the house"): common/ depends on nothing else, wire/ on common/
// alone, guest-metadata/ on those two, objects/, placement/ and network/ on no service, compute code never
// reaches the database nor another service's code, and the virt drivers know nothing of the other services.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noImport = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

/** What no compute module may import: the database, and the code of the services that have one. */
const COMPUTE_FORBIDDEN = [
  '**/common/db/*',
  '**/common/db/**',
  '**/objects/**',
  '**/placement/**',
  '**/api/**',
  '**/conductor/**',
  '**/scheduler/**',
  '**/runtime/environment*',
  '**/runtime/db-*',
  '**/runtime/all-in-one*',
  '**/runtime/bootstrap*',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'state/', '.tmp/', 'bin/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/compute/**/*.ts'],
    rules: noImport(
      [],
      'compute hosts never touch the database: go through the conductor, whose client and messages are in ' +
        'src/wire/ (docs/architecture.md, "Rules of the house").',
    ),
  },
  {
    files: ['src/wire/**/*.ts'],
    rules: noImport(
      [
        '**/common/db/*',
        '**/common/db/**',
        '**/objects/**',
        '**/placement/**',
        '**/api/**',
        '**/conductor/**',
        '**/scheduler/**',
        '**/compute/**',
        '**/runtime/**',
        '**/cmd/**',
        '**/guest-metadata/**',
      ],
      'wire/ (messages and RPC contracts) sits on common/ alone: every service imports it, compute hosts too.',
    ),
  },
  {
    files: ['src/objects/**/*.ts', 'src/placement/**/*.ts', 'src/network/**/*.ts'],
    rules: noImport(
      ['**/api/**', '**/conductor/**', '**/scheduler/**', '**/compute/**', '**/runtime/**', '**/cmd/**'],
      'objects/, placement/ and network/ are data access below the services: what they share with them is in wire/.',
    ),
  },
  {
    files: ['src/guest-metadata/**/*.ts'],
    rules: noImport(
      [
        '**/common/db/*',
        '**/common/db/**',
        '**/objects/**',
        '**/placement/**',
        '**/network/**',
        '**/api/**',
        '**/conductor/**',
        '**/scheduler/**',
        '**/compute/**',
        '**/runtime/**',
        '**/cmd/**',
      ],
      'guest-metadata/ builds what a guest is told from a wire payload alone (no database, no HTTP): ' +
        'the metadata service and the compute hosts (config drives) both use it.',
    ),
  },
  {
    files: ['src/compute/virt/**/*.ts'],
    // One rule per file: this one replaces compute's above for the drivers, so it repeats its patterns.
    rules: noImport(
      [...COMPUTE_FORBIDDEN, '**/compute/manager*', '**/wire/contracts/**'],
      'a virt driver only implements the driver contract (virt/driver.ts).',
    ),
  },
  {
    files: ['src/common/**/*.ts'],
    rules: noImport(
      [
        '**/api/**',
        '**/conductor/**',
        '**/scheduler/**',
        '**/compute/**',
        '**/wire/**',
        '**/objects/**',
        '**/placement/**',
        '**/runtime/**',
        '**/cmd/**',
        '**/guest-metadata/**',
      ],
      'common/ is the lowest layer: shared by every other one, it depends on none.',
    ),
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);

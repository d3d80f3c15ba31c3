// Lint: typescript-eslint with type information (it catches unawaited promises), plus the layering
// rules of docs/architecture.md: compute code never reaches the database, the virt drivers know nothing
// of the other services, and the shared layer (common/) depends on no service.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noImport = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'state/', '.tmp/', 'bin/'] },
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
      ['**/common/db/*', '**/common/db/**'],
      'compute hosts never touch the database: go through the conductor (DESIGN.md).',
    ),
  },
  {
    files: ['src/compute/virt/**/*.ts'],
    rules: noImport(
      ['**/conductor/**', '**/scheduler/**', '**/api/**', '**/compute/manager*'],
      'a virt driver only implements the driver contract (virt/driver.ts).',
    ),
  },
  {
    files: ['src/common/**/*.ts'],
    rules: noImport(
      ['**/api/**', '**/conductor/**', '**/scheduler/**', '**/compute/**'],
      'common/ is shared by every service and depends on none.',
    ),
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);

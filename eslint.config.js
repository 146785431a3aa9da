// The lint `npm test` runs (`npm run lint`): ESLint's and typescript-eslint's recommended rules, and for the
// shipped code the promise rules that need types (a promise nobody awaits or catches fails silently). Nothing
// about layout: that is the formatter's business (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const shipped = ['bin/**/*.ts', 'src/**/*.ts', 'workers/**/*.ts', 'jobs/**/*.ts'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: shipped,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // The sandboxes take foreign providers' request bodies as sent and check each field before using it.
    files: ['src/sandbox/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests, the bench and the scripts read JSON answers loosely, and the fuzz tests match control characters
    // on purpose.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off' },
  },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
);

// ESLint flat config (#17 item 7): typescript-eslint's strict rules for the code, the recommended ones for tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }];

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'tools/**', 'deploy/**', 'examples/**', 'experiments/**', 'scenarios/**', 'docs/**', 'scratch/**'] },
  js.configs.recommended,
  {
    files: ['src/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', 'bin/**/*.js', '*.config.ts', 'eslint.config.js'],
    extends: [tseslint.configs.strict],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': unusedVars,
      // A value that must exist is narrowed (destructuring, a check) or read with must() (src/must.ts), which names it.
      '@typescript-eslint/no-non-null-assertion': 'error',
      // Header maps and Kubernetes metadata are plain records keyed by name: deleting a computed key is their use.
      '@typescript-eslint/no-dynamic-delete': 'off',
      // Optional hooks return `Promise<void | StepChoice>`: nothing, or a choice (src/runner/run.ts).
      '@typescript-eslint/no-invalid-void-type': 'off',
    },
  },
  {
    // The type-aware rules (floating and misused promises, unsafe any, conditions the types make unnecessary...).
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.strictTypeCheckedOnly],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Counts and durations read naturally in messages; objects, unions and nullish values still need a decision.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => resolve(x)` style callbacks.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Commands, app handlers and phase bodies are async by contract; some have nothing to wait for.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': unusedVars,
      // `let runner!: Runner` read by a callback built before the assignment cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Header validation, terminal output and XML escaping match control characters on purpose.
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['bin/**/*.js'],
    languageOptions: { globals: { process: 'readonly' } },
  },
);

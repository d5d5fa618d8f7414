// ESLint flat config (#17 item 7): typescript-eslint's strict rules for the code, the recommended ones for tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const unusedVars = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }];

// Every TCP socket meshproof opens or accepts has Nagle's algorithm off, as Envoy's and Go's (kubectl's, the API
// server's) have: with it on, the second of two small writes waits for the peer's delayed ACK (40 ms on Linux, up to
// 200 ms), which a latency expectation then reads as the mesh's. A response in two parts through the kube target's
// port-forward took 43.8 ms instead of 2.5 ms (docs/kube.md).
const noDelayMessage = 'open TCP sockets with { noDelay: true } in the call (Nagle off, as Envoy and Go do): see eslint.config.js';
const noDelay = [
  'error',
  {
    selector:
      "CallExpression[callee.object.name='net'][callee.property.name=/^(createServer|connect|createConnection)$/]:not(:has(Property[key.name='noDelay'][value.value=true]))",
    message: noDelayMessage,
  },
];
const netImports = [
  'error',
  ...['net', 'node:net'].map((name) => ({
    name,
    importNames: ['createServer', 'connect', 'createConnection'],
    message: `use net.createServer / net.connect: ${noDelayMessage}`,
  })),
];

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
      'no-restricted-syntax': noDelay,
      'no-restricted-imports': netImports,
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

// Lint rules that hold the small things so reviews talk about design (STYLE.md §14). Formatting
// is Prettier's (.prettierrc); dead files and exports are knip's (knip.json). `npm run lint` runs all three.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** One private-member style: ECMAScript `#x`, enforced where TypeScript's `private` keyword appears. */
const PRIVATE_KEYWORD = 'Use an ECMAScript #private member instead of the TypeScript `private` keyword.';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'coverage/**', 'test/fixtures/user-project/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // Config files and scripts outside tsconfig.json's include still get type information.
          allowDefaultProject: ['*.js', '*.ts', 'scripts/*.mjs', 'scripts/*/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // `typeof import('vite')` types a module that is loaded lazily, on purpose.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      // A `let` assigned after the closures that read it (a handle they need) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // An async function without await still returns a promise and turns a throw into a rejection,
      // which is what Fastify's async hooks and the Broker interface's close() rely on.
      '@typescript-eslint/require-await': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: "PropertyDefinition[accessibility='private']", message: PRIVATE_KEYWORD },
        { selector: "MethodDefinition[accessibility='private'][kind!='constructor']", message: PRIVATE_KEYWORD },
        { selector: "AccessorProperty[accessibility='private']", message: PRIVATE_KEYWORD },
        { selector: "TSParameterProperty[accessibility='private']", message: PRIVATE_KEYWORD },
      ],
    },
  },
  {
    // The broker channel sits below the messaging layer (routing, /user resolution) and never reaches up.
    files: ['server/src/broker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/messaging/*'], message: 'The broker does not import from messaging/.' }] },
      ],
    },
  },
  {
    // Tests drive third-party STOMP clients that ship no types (test/helpers/untyped-modules.d.ts)
    // and read JSON bodies; `any` there is the point of an interop test, not a leak.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript has no types to check `any` against; promises are still checked.
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);

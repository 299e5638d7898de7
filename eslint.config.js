// @ts-check
// Lint for src, test and scripts: @eslint/js recommended plus typescript-eslint's type-checked
// recommended rules. The rules that keep real bugs out are errors everywhere: a promise nobody
// awaits or handles (no-floating-promises, no-misused-promises), a type-only import that would
// survive into the emitted JavaScript (consistent-type-imports).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'vectors/', 'agent-ca-data/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      // A leading underscore marks a binding kept on purpose (a positional parameter an
      // interface imposes, a property dropped from a rest object).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `const self = this` is needed where an async generator (which cannot be an arrow
      // function) reads the enclosing object; any other alias name is still refused.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // Off: an `async` function without `await` is how an implementation of a
      // Promise-returning port turns a synchronous throw into a rejection; dropping `async` to
      // please this rule would make such throws escape callers' `.catch`/try-await instead.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read untyped JSON bodies (`res.json()`, parsed problem+json) and assert on them
    // with `expect`, which is the type check there; `any` is allowed but reported.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The operator console's ES modules run in the browser (docs/console.md).
    files: ['src/console/assets/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'AbortController',
          'FormData',
          'Node',
          'TextDecoderStream',
          'URL',
          'URLSearchParams',
          'clearTimeout',
          'console',
          'document',
          'fetch',
          'location',
          'sessionStorage',
          'setTimeout',
          'window',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
);

// ESLint: typescript-eslint's type-checked recommended rules over the TypeScript sources and
// tests (`npm run lint`, part of `npm test`). Formatting is Prettier's job (npm run format:check), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'fixtures/', 'schema/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // A leading underscore marks a name kept on purpose (a destructured field left out of a rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // typescript-eslint resolves node-forge's namespace types (Forge.pki.*) as error types where
    // tsc resolves them, so it calls the needed assertions unnecessary and their uses unsafe.
    files: ['src/tls/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests pass their helpers' arrow-function closers (server.close) around, and stringify the
      // `ws` library's message data (a Buffer at run time, typed as a union with Buffer[]).
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // vitest's asymmetric matchers (expect.any, expect.stringContaining) and JSON.parse of
      // archive lines are typed any by design; the assertions check their shape at run time.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);

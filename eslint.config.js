import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      // Type-aware rules read the types from tsconfig.json (src, test, bench's TypeScript, vitest.config.ts).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The dashboard's page (ui/) is type-checked by its own tsconfig (DOM); it reads untyped JSON by design.
  {
    files: ['ui/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    ...tseslint.configs.disableTypeChecked,
  },
  // Plain JavaScript (bench/, scripts/, fixtures, this file) has no types to check against: the untyped rules only.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);

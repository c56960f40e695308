import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import prettier from 'eslint-config-prettier';
import { layersRule } from './scripts/eslint-layers.mjs';

// The layers of src/, bottom first. A unit (a top-level folder, or a file at the top of src/) may import only its own
// files and the units of the layers below it, never one beside it in its own layer; a unit missing here fails lint.
export const LAYERS = [
  ['errors.ts', 'version.ts'], // leaves: error classes and codes, the package's version
  ['os/', 'net/', 'devices.ts'], // OS facts (/proc, process identity, cwd, which, paths), the port finder, devices
  ['model/'], // the data model: options, results, root causes, events, the trainer contract (types)
  ['exit-codes.ts'], // every exit code (of a result, a root cause, an error)
  ['python/'], // interpreter discovery, the literal encoder and parser
  ['progress/'], // the output, results and metrics parsers
  ['insight/', 'slurm/', 'k8s/', 'ultralytics/', 'store/'], // failure explanation and sampling, Slurm, Kubernetes, the port, the run store
  ['launch/'], // resolve, plan, run, backends
  ['ui/'], // the dashboard's server
  ['cli/', 'index.ts'], // the command line; the public entry
];
export const ALLOWED = Object.fromEntries(
  LAYERS.flatMap((units, i) => units.map((unit) => [unit, LAYERS.slice(0, i).flat()])),
);

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
  {
    files: ['src/**/*.ts'],
    plugins: { ddprun: { rules: { layers: layersRule } } },
    rules: { 'ddprun/layers': ['error', { src: path.join(import.meta.dirname, 'src'), allowed: ALLOWED }] },
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

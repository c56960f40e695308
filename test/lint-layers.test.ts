import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Linter, type Rule } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli/helpers.js';

const SRC = path.join(ROOT, 'src');

interface LayerConfig {
  LAYERS: string[][];
  ALLOWED: Record<string, string[]>;
}

async function layerConfig(): Promise<LayerConfig> {
  return (await import(pathToFileURL(path.join(ROOT, 'eslint.config.js')).href)) as LayerConfig;
}

/** The layer rule's messages for `code` as the file `file` (relative to src/), with the project's table. */
async function lintAs(file: string, code: string): Promise<string[]> {
  const { ALLOWED } = await layerConfig();
  const { layersRule } = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'eslint-layers.mjs')).href)) as {
    layersRule: Rule.RuleModule;
  };
  const config: Linter.Config[] = [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser },
      plugins: { ddprun: { rules: { layers: layersRule } } },
      rules: { 'ddprun/layers': ['error', { src: SRC, allowed: ALLOWED }] },
    },
  ];
  return new Linter().verify(code, config, { filename: path.join(SRC, file) }).map((m) => m.message);
}

describe('the layer rule (eslint.config.js)', () => {
  it('places every folder and top-level file of src/ in exactly one layer', async () => {
    const { LAYERS } = await layerConfig();
    const units = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
    expect([...LAYERS.flat()].sort()).toEqual(units.sort());
  });

  it('fails an import from a lower layer to a higher one, whatever the depth of the file', async () => {
    expect(await lintAs('store/recorder.ts', "import { parseCli } from '../cli/args.js';")).toEqual([
      'src/store/ may not import src/cli/: imports point down the layers (eslint.config.js), and store/ may import ' +
        'only errors.ts, version.ts, os/, net/, devices.ts, model/, exit-codes.ts, python/, progress/',
    ]);
    expect(await lintAs('launch/run/launch.ts', "import type { Io } from '../../cli/io.js';")).toHaveLength(1);
    expect(await lintAs('os/which.ts', "export type { LaunchOptions } from '../model/types.js';")).toHaveLength(1);
    expect(await lintAs('model/types.ts', "export * from '../ultralytics/index.js';")).toHaveLength(1);
  });

  it('fails an import between two units of the same layer, and a unit missing from the table', async () => {
    expect(await lintAs('insight/explain.ts', "import { runDir } from '../store/paths.js';")).toEqual([
      expect.stringMatching(/^src\/insight\/ may not import src\/store\//),
    ]);
    expect(await lintAs('newfolder/x.ts', "import { UsageError } from '../errors.js';")).toEqual([
      'src/newfolder/ is not in the layer table (eslint.config.js): add it to a layer',
    ]);
  });

  it('passes imports that point down, within a unit, and of packages', async () => {
    const code = [
      "import { readFileSync } from 'node:fs';",
      "import { UsageError } from '../../errors.js';",
      "import type { LaunchResult } from '../../model/types.js';",
      "import { RunRecorder } from '../../store/recorder.js';",
      "import { planAttempt } from '../plan/plan.js';",
    ].join('\n');
    expect(await lintAs('launch/run/launch.ts', code)).toEqual([]);
  });
});

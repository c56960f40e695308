// An ESLint rule that keeps src/'s imports pointing down the layers (the table is in eslint.config.js).
// Each file belongs to a unit: the top-level folder of src/ it is in (`store/`), or its own name when it sits at the
// top (`errors.ts`). An import (or export-from, or import()) of another unit must be in that unit's allowed list.
// Specifiers are resolved as paths, not matched as text, so `../../store/x.js` and `./store/x.js` are the same unit.
import path from 'node:path';

const unitOf = (srcDir, file) => {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const [first, ...rest] = rel.split(path.sep);
  return rest.length > 0 ? `${first}/` : first.replace(/\.js$/, '.ts');
};

/** @type {import('eslint').Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports in src/ point only down the layers' },
    schema: [{ type: 'object', properties: { src: { type: 'string' }, allowed: { type: 'object' } } }],
  },
  create(context) {
    const { src, allowed } = context.options[0];
    const file = context.filename;
    const from = unitOf(src, file);
    if (from === undefined) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const to = unitOf(src, path.resolve(path.dirname(file), source.value));
      if (to === undefined || to === from) return;
      const may = allowed[from];
      if (may === undefined)
        context.report({
          node,
          message: `src/${from} is not in the layer table (eslint.config.js): add it to a layer`,
        });
      else if (!may.includes(to))
        context.report({
          node,
          message: `src/${from} may not import src/${to}: imports point down the layers (eslint.config.js), and ${from} may import only ${may.length > 0 ? may.join(', ') : 'nothing of src/'}`,
        });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source : undefined),
    };
  },
};

// The CLI bundle as a CommonJS module function: what the loader compiles (cli-bundle-loader.mjs) and what the code
// cache is made from (bundle-cli.mjs); V8 takes a cache only for the very same source.
export function wrapBundle(source) {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

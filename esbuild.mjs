// One build script for the three bundles (as vscode-eslint's esbuild.js): the VS Code client,
// the language server (which hosts the engine) and the CLI (the same engine, another front end).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  // Minified always: the CLI and the server start faster (less to parse); source maps keep traces readable.
  minify: true,
  logLevel: 'warning',
};

const bundles = [
  // `vscode` is provided by the editor at run time; it must never be bundled.
  // The client's language-client half (out/lsp.js) is loaded after activation (extension/src/lazy.ts).
  {
    ...common,
    entryPoints: ['extension/src/main.ts'],
    outfile: 'out/extension.js',
    external: ['vscode', './lsp'],
  },
  { ...common, entryPoints: ['extension/src/lsp.ts'], outfile: 'out/lsp.js', external: ['vscode'] },
  { ...common, entryPoints: ['server/src/server.ts'], outfile: 'out/server.js' },
  { ...common, entryPoints: ['server/src/cli/main.ts'], outfile: 'out/cli.js' },
];

if (watch) {
  for (const options of bundles) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(bundles.map((options) => esbuild.build(options)));
}

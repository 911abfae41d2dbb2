// Bundles the built CLI (dist/cli/main.js and what it imports, dependencies included) into one
// CommonJS file, dist/bundle/secmarkc.cjs, and makes its V8 code cache (see bin/bundle-loader.js).
// Node 20 has no compile cache, and its ESM loader resolves, reads and compiles every module
// separately: loading the CLI as ES modules cost more than compiling a policy of 10,000 entries.
// Commands stay lazy inside the one file (esbuild turns each `import()` into a function that
// runs that module's top level on first use). The library stays in dist/ unbundled.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { URL } from 'node:url';
import { writeCodeCache } from './code-cache.mjs';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
const outfile = `${outdir}secmarkc.cjs`;
// A cache from an earlier build must never sit beside a new bundle (the loader would refuse it
// by its digest anyway).
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [new URL('../dist/cli/main.js', import.meta.url).pathname],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // Smaller to read and hash at every start; names are kept, so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  // The `yaml` library is the fallback parser, required on demand: keep it out of the bundle.
  external: ['yaml'],
  // The sources find package.json and the addon relative to their own file: dist/bundle/ sits
  // where dist/cli/ does, so the bundle's own URL serves.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// A dynamic import() left in a script run by node:vm would fail at run time, not here.
if (/\bimport\(/.test(readFileSync(outfile, 'utf8'))) throw new Error(`${outfile}: the bundle still has a dynamic import()`);
await writeCodeCache();

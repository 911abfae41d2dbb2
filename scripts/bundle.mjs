// Bundles the built CLI (dist/cli/main.js and what it imports, dependencies included) into
// dist/bundle/, one chunk per lazily loaded command. Node 20 has no compile cache, and its ESM
// loader resolves and reads every module separately: loading ~50 small modules cost more than
// compiling a policy. bin/secmarkc.js runs the bundle; the library stays in dist/ unbundled.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { URL } from 'node:url';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [new URL('../dist/cli/main.js', import.meta.url).pathname],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The `yaml` library is the fallback parser, required on demand: keep it out of the bundle.
  external: ['yaml'],
  // Bundled CommonJS dependencies (commander, ipaddr.js) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  logLevel: 'warning',
});

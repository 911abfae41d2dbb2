#!/usr/bin/env node
// Entry point: the bundled CLI (built by `npm install` / `npm run build:ts`, see
// scripts/bundle.mjs), loaded with its code cache by bundle-loader.js. `--version` alone is
// answered here, without loading the bundle.
'use strict';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '-V' || args[0] === '--version')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  require('./bundle-loader.js')
    .loadBundle()
    .exports.main(process.argv)
    .catch((error) => {
      // main() reports its own failures; this is for a bug that escapes it.
      process.stderr.write(`secmarkc: ${error?.stack ?? error}\n`);
      process.exitCode = 1;
    });
}

// npm run build:gyp — the node-gyp build of binding.gyp, offline where possible.
// `configure build` rather than `rebuild`: rebuild's clean step deletes all of build/, including
// the cmake-js output in build/native. Node's own headers are used when installed beside the
// running node (Debian/NodeSource: /usr/include/node; official tarballs: <prefix>/include/node),
// so nothing is downloaded; otherwise (and unless npm's nodedir is set) node-gyp fetches them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const args = ['configure', 'build', ...process.argv.slice(2)];
const prefix = path.resolve(process.execPath, '..', '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
  args.push(`--nodedir=${prefix}`);
}
const run = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);

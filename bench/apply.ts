// bench/apply: the whole `secmarkc apply --no-lsm` process vs `nft -f` of the same ruleset, at
// 100 … 100,000 entries, alternating runs in one private namespace; plus the floor: the same
// batch sent in-process by the library (what the kernel costs, with encoding) and `node -e ''`.
// Re-runs itself under `unshare -n`. Uses the built CLI (npm run build:ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replaceTable } from '../src/apply/apply.js';
import { compilePolicy } from '../src/compile/compile.js';
import { withCounterObjects } from '../src/compile/substitute.js';
import { emitNftText } from '../src/emit/nft-text.js';
import { generatePolicy } from './generate.js';
import { median, spread, systemLine } from './system.js';

const NFT = '/usr/sbin/nft';
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000,100000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/secmarkc.js');

function timed(command: string, args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(command, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const fmt = (values: number[]): string => `${median(values).toFixed(0)} ± ${spread(values).toFixed(0)} ms`;

export async function runApplyBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'secmarkc-bench-'));
  const lines = [
    '### Apply: whole process vs nft -f, same ruleset, same namespace',
    '',
    systemLine(NFT),
    '',
    `Median ± half-IQR of ${RUNS} alternating runs. Counter objects stand in for secmark objects (no SELinux on the host).`,
    '',
    '| entries | secmarkc apply (process) | nft -f (process) | ratio | in-process apply (library) | node -e "" |',
    '|---:|---:|---:|---:|---:|---:|',
  ];
  try {
    const bare = Array.from({ length: RUNS }, () => timed(process.execPath, ['-e', '']));
    for (const size of SIZES) {
      const policy = join(dir, `p${size}.yaml`);
      const text = generatePolicy(size);
      writeFileSync(policy, text);
      const compiled = compilePolicy(text, policy);
      if (!compiled.ok) throw new Error('benchmark policy does not compile');
      const ruleset = withCounterObjects(compiled.compiled.ruleset);
      const nftFile = join(dir, `p${size}.nft`);
      writeFileSync(nftFile, emitNftText(ruleset));
      const ours: number[] = [];
      const theirs: number[] = [];
      const library: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        ours.push(timed(process.execPath, [BIN, 'apply', policy, '--no-lsm']));
        theirs.push(timed(NFT, ['-f', nftFile]));
        const start = process.hrtime.bigint();
        await replaceTable(ruleset);
        library.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      lines.push(
        `| ${size.toLocaleString('en')} | ${fmt(ours)} | ${fmt(theirs)} | ${(median(ours) / median(theirs)).toFixed(2)} | ${fmt(library)} | ${fmt(bare)} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.env.SECMARKC_BENCH_IN_NETNS !== '1') {
    const r = spawnSync('unshare', ['-n', process.execPath, '--import=tsx', fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, SECMARKC_BENCH_IN_NETNS: '1' },
    });
    process.exit(r.status ?? 1);
  }
  console.log(await runApplyBench());
}

// npm run bench: every benchmark, as one Markdown report on stdout.
import { runApplyBench } from './apply.js';
import { runCompileBench } from './compile.js';

console.log(`# secmarkc benchmarks (${new Date().toISOString().slice(0, 10)})\n`);
console.log(runCompileBench());
console.log();
if (process.env.SECMARKC_BENCH_IN_NETNS === '1') console.log(await runApplyBench());
else console.log('(apply benchmark: run `npx tsx bench/apply.ts`, which enters its own network namespace)');

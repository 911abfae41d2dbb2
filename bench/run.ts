// npm run bench: every benchmark, as one Markdown report on stdout (progress on stderr).
// Knobs: BENCH_SIZES / BENCH_RUNS (compile, apply), BENCH_PACKET_SIZES / BENCH_LINEAR_SIZES /
// BENCH_PACKET_SECONDS / BENCH_PACKET_RUNS (per-packet), BENCH_STARTUP_RUNS (startup),
// BENCH_STATUS_SIZES / BENCH_STATUS_RUNS (status),
// BENCH_VM_SIZES / BENCH_VM_LINEAR_SIZES / BENCH_VM_SECONDS / BENCH_VM_RUNS (per-packet in the
// SELinux test guest: last, as the slowest); BENCH_ONLY=compile,apply,status,packet,startup,vmpacket
// runs a subset.
import { runApplyBench } from './apply.js';
import { runCompileBench } from './compile.js';
import { runPacketBench } from './packet.js';
import { runStatusBench } from './status.js';
import { runStartupBench } from './startup.js';
import { runVmPacketBench } from './vmpacket.js';

const inNetns = process.env.SECMARKC_BENCH_IN_NETNS === '1';
const only = process.env.BENCH_ONLY?.split(',');
const wanted = (name: string): boolean => !only || only.includes(name);
const netnsOnly = (name: string): string => `(${name} benchmark: run \`npx tsx bench/${name}.ts\`, which enters its own network namespace)`;

console.log(`# secmarkc benchmarks (${new Date().toISOString().slice(0, 10)})\n`);
if (wanted('startup')) console.log(runStartupBench() + '\n');
if (wanted('compile')) console.log(runCompileBench() + '\n');
if (wanted('apply')) console.log((inNetns ? await runApplyBench() : netnsOnly('apply')) + '\n');
if (wanted('status')) console.log((inNetns ? await runStatusBench() : netnsOnly('status')) + '\n');
if (wanted('packet')) console.log((inNetns ? await runPacketBench() : netnsOnly('packet')) + '\n');
if (wanted('vmpacket')) console.log((await runVmPacketBench()) + '\n');

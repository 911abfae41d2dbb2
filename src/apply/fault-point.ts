// Fault injection for the tests of test/fault-injection.test.ts: SECMARKC_TEST_KILL_AT=STEP makes
// the process SIGKILL itself when it reaches STEP, SECMARKC_TEST_STOP_AT=STEP SIGSTOP itself
// there (the test changes the world, then SIGCONTs it), SECMARKC_TEST_DELAY_AT=STEP:MS pause MS
// milliseconds there (after a stop, before a kill). Steps, in order: locked, intent, sent (the batch
// handed to the kernel; the record not built yet), staged (the record file written, while the
// kernel processes the batch), batch (the kernel accepted it), committed (the index names the new
// record; history not yet written).

export type FaultStep = 'locked' | 'intent' | 'sent' | 'staged' | 'batch' | 'committed';

export function faultPoint(step: FaultStep): void {
  if (process.env.SECMARKC_TEST_STOP_AT === step) process.kill(process.pid, 'SIGSTOP');
  const delay = /^(\w+):(\d+)$/.exec(process.env.SECMARKC_TEST_DELAY_AT ?? '');
  // A synchronous pause: a batch sent from a worker thread (a large one) goes on meanwhile, as it would during a long record write.
  if (delay?.[1] === step) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(delay[2]));
  if (process.env.SECMARKC_TEST_KILL_AT === step) process.kill(process.pid, 'SIGKILL');
}

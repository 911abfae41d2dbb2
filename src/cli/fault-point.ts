// Fault injection for the tests of test/fault-injection.test.ts: SECMARKC_TEST_KILL_AT=STEP makes
// the process SIGKILL itself when it reaches STEP, SECMARKC_TEST_STOP_AT=STEP SIGSTOP itself
// there (the test changes the world, then SIGCONTs it). Steps, in order: locked, intent, staged
// (the record file written, while the kernel processes the batch), batch (the kernel accepted it),
// committed (the index names the new record; history not yet written).

export type FaultStep = 'locked' | 'intent' | 'staged' | 'batch' | 'committed';

export function faultPoint(step: FaultStep): void {
  if (process.env.SECMARKC_TEST_STOP_AT === step) process.kill(process.pid, 'SIGSTOP');
  if (process.env.SECMARKC_TEST_KILL_AT === step) process.kill(process.pid, 'SIGKILL');
}

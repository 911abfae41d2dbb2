// The top-level help lists the commands from a static table (src/cli/main.ts COMMANDS) so that
// `secmarkc --help` loads no command module. This keeps that table equal to what each module
// registers: its name, arguments and options (the help's term) and its summary.

import test from 'ava';
import { Help } from 'commander';
import { COMMANDS, createProgram } from '../src/cli/main.js';

for (const [name, entry] of Object.entries(COMMANDS)) {
  test(`the help listing of "${name}" is what its module registers`, async (t) => {
    const program = await createProgram();
    (await entry.load()).register(program);
    const command = program.commands.find((c) => c.name() === name);
    if (!command) return t.fail(`the module does not register a command named ${name}`);
    t.is(new Help().subcommandTerm(command), entry.term);
    t.is(command.summary(), entry.summary);
  });
}

test('every registered command is in the listing', async (t) => {
  const program = await createProgram();
  for (const entry of Object.values(COMMANDS)) (await entry.load()).register(program);
  t.deepEqual(program.commands.map((c) => c.name()).sort(), Object.keys(COMMANDS).sort());
});

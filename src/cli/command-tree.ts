// Every command with its options, read from the commander definitions themselves (each command
// module registered, as when it runs): the one source of shell completion and of secmarkc(8).

import type { Argument, Command, Option } from 'commander';
import { COMMANDS, createProgram } from './main.js';

/** What a value is, for completion: a file, a directory, one of fixed choices, or free text. */
export type ValueKind = { readonly kind: 'file' } | { readonly kind: 'dir' } | { readonly kind: 'choices'; readonly choices: readonly string[] } | { readonly kind: 'text' };

export interface OptionSpec {
  /** As commander shows them: `-f, --format <format>`. */
  readonly flags: string;
  readonly short?: string;
  readonly long?: string;
  readonly description: string;
  /** Undefined for a flag that takes no value. */
  readonly value?: ValueKind & { readonly name: string; readonly optional: boolean };
  readonly repeatable: boolean;
  readonly defaultValue?: string;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
  readonly value: ValueKind;
}

export interface CommandSpec {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly description: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
}

export interface ProgramSpec {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  readonly commands: readonly CommandSpec[];
}

/** Placeholders that name a file or a folder: `--policy <file>`, `--state-dir <dir>`, `--netns <path>`. */
const FILE_VALUES = new Set(['file', 'path', 'policy']);
const DIR_VALUES = new Set(['dir']);

function valueKind(name: string, choices: readonly string[] | undefined): ValueKind {
  if (choices && choices.length > 0) return { kind: 'choices', choices: [...choices] };
  if (FILE_VALUES.has(name)) return { kind: 'file' };
  if (DIR_VALUES.has(name)) return { kind: 'dir' };
  return { kind: 'text' };
}

function describeDefault(value: unknown): string | undefined {
  if (value === undefined || value === false || value === true || (Array.isArray(value) && value.length === 0)) return undefined;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function optionSpec(option: Option): OptionSpec {
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1];
  const takesValue = option.required || option.optional;
  const defaultValue = describeDefault(option.defaultValue);
  return {
    flags: option.flags,
    ...(option.short ? { short: option.short } : {}),
    ...(option.long ? { long: option.long } : {}),
    description: option.description,
    ...(takesValue ? { value: { name: placeholder ?? 'value', optional: option.optional, ...valueKind(placeholder ?? '', option.argChoices) } } : {}),
    repeatable: Array.isArray(option.defaultValue) || option.variadic,
    ...(defaultValue !== undefined && !option.negate ? { defaultValue } : {}),
  };
}

function argumentSpec(argument: Argument): ArgumentSpec {
  return { name: argument.name(), required: argument.required, description: argument.description, value: valueKind(argument.name(), argument.argChoices) };
}

const HELP: OptionSpec = { flags: '-h, --help', short: '-h', long: '--help', description: 'display help for command', repeatable: false };

/** Loads every command module and reads back what each registered, in the order of COMMANDS. */
export async function describeProgram(): Promise<ProgramSpec> {
  const program = await createProgram();
  for (const entry of Object.values(COMMANDS)) (await entry.load()).register(program);
  const commands = Object.keys(COMMANDS).map((name): CommandSpec => {
    const command = program.commands.find((c: Command) => c.name() === name);
    if (!command) throw new Error(`command module for "${name}" registered no command of that name`);
    return {
      name,
      usage: command.usage(),
      summary: command.summary() || COMMANDS[name]!.summary,
      description: command.description(),
      arguments: command.registeredArguments.map(argumentSpec),
      options: [...command.options.filter((o) => !o.hidden).map(optionSpec), HELP],
    };
  });
  return { name: program.name(), description: program.description(), options: [...program.options.map(optionSpec), HELP], commands };
}

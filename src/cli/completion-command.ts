// `secmarkc completion bash|zsh`: a completion script written from the commander definitions
// (command-tree.ts), so it knows every command, option and option choice the CLI has.

import { Argument, type Command } from 'commander';
import { describeProgram, type CommandSpec, type OptionSpec, type ProgramSpec, type ValueKind } from './command-tree.js';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .summary('print a bash or zsh completion script')
    .description(
      'Print a completion script for SHELL, written from the definitions of every command: commands, ' +
        'options, the choices of options such as compile --format, and files where a file is expected.\n\n' +
        'bash: secmarkc completion bash > /etc/bash_completion.d/secmarkc (or source <(secmarkc completion bash) ' +
        'in ~/.bashrc).\n' +
        'zsh: secmarkc completion zsh > /usr/local/share/zsh/site-functions/_secmarkc (any folder on $fpath), ' +
        'then compinit.',
    )
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(SHELLS))
    .action(async (shell: Shell) => {
      const spec = await describeProgram();
      process.stdout.write(shell === 'bash' ? bashCompletion(spec) : zshCompletion(spec));
    });
}

/** Single-quoted for sh: `it's` → `'it'\''s'`. */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function optionWords(options: readonly OptionSpec[]): string[] {
  return options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
}

/** A bash `case` arm body that fills COMPREPLY with values of `kind` for the word in $cur. */
function bashValues(kind: ValueKind): string {
  switch (kind.kind) {
    case 'choices':
      return `COMPREPLY=($(compgen -W ${shQuote(kind.choices.join(' '))} -- "$cur"))`;
    case 'file':
      return `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))`;
    case 'dir':
      return `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))`;
    case 'text':
      return 'COMPREPLY=()';
  }
}

function bashCommand(command: CommandSpec): string {
  const valued = command.options.filter((o) => o.value);
  const valueArms = valued.map((o) => `        ${optionWords([o]).join('|')}) ${bashValues(o.value!)}; return ;;`);
  const args = command.arguments.map((a, i) => `        ${i}) ${bashValues(a.value)} ;;`);
  return [
    `    ${command.name})`,
    `      case "$opt" in`,
    ...valueArms,
    `      esac`,
    `      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W ${shQuote(optionWords(command.options).join(' '))} -- "$cur")); return; fi`,
    `      case "$npos" in`,
    ...args,
    `      esac ;;`,
  ].join('\n');
}

/** Options (of any command) whose next word is their value, so that it is not taken for an argument. */
function valueOptions(spec: ProgramSpec): string[] {
  const words = new Set<string>();
  for (const command of spec.commands) for (const o of command.options) if (o.value && !o.value.optional) for (const w of optionWords([o])) words.add(w);
  return [...words].sort();
}

export function bashCompletion(spec: ProgramSpec): string {
  const fn = `_${spec.name}`;
  const commands = spec.commands.map((c) => c.name);
  return `# bash completion for ${spec.name}: written by \`${spec.name} completion bash\` from its command definitions.
# Install: ${spec.name} completion bash > /etc/bash_completion.d/${spec.name}, or in ~/.bashrc:
#   source <(${spec.name} completion bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd= npos=0 opt= i word
  # The option whose value is being typed: "--format n", and "--format=n" (bash splits it at "=").
  if (( COMP_CWORD > 1 )) && [[ \${COMP_WORDS[COMP_CWORD-1]} == = ]]; then opt=\${COMP_WORDS[COMP_CWORD-2]}
  elif (( COMP_CWORD > 0 )) && [[ $cur == = ]]; then opt=\${COMP_WORDS[COMP_CWORD-1]}; cur=
  elif (( COMP_CWORD > 0 )); then opt=\${COMP_WORDS[COMP_CWORD-1]}
  fi
  # The command, and how many arguments come before the word being completed.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word=\${COMP_WORDS[i]}
    case "$word" in
      ${valueOptions(spec).join('|')}) if [[ \${COMP_WORDS[i+1]} == = ]]; then (( i += 2 )); else (( i += 1 )); fi ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$word; else (( npos++ )); fi ;;
    esac
  done
  case "$cmd" in
    '')
      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W ${shQuote(optionWords(spec.options).join(' '))} -- "$cur"))
      else COMPREPLY=($(compgen -W ${shQuote([...commands, 'help'].join(' '))} -- "$cur")); fi ;;
    help)
      (( npos == 0 )) && COMPREPLY=($(compgen -W ${shQuote(commands.join(' '))} -- "$cur")) ;;
${spec.commands.map(bashCommand).join('\n')}
  esac
}
complete -F ${fn} ${spec.name}
`;
}

/** One line of text for a single-quoted zsh word, with `special` characters backslash-escaped. */
function zshText(text: string, special: RegExp): string {
  const line = text.split('\n')[0]!.replace(/\s+/g, ' ').trim();
  return line.replace(/\\/g, '\\\\').replace(special, '\\$&').replace(/'/g, `'\\''`);
}
/** An _arguments `[description]`. */
const zshDescription = (text: string): string => zshText(text, /[[\]]/g);
/** An _arguments message, or a `_describe` entry's name: colons separate fields there. */
const zshField = (text: string): string => zshText(text, /:/g);

function zshAction(kind: ValueKind): string {
  switch (kind.kind) {
    case 'choices':
      return `(${kind.choices.join(' ')})`;
    case 'file':
      return '_files';
    case 'dir':
      return '_files -/';
    case 'text':
      return ' ';
  }
}

/** _arguments specs of one option: one per name, the short and long names excluding each other. */
function zshOption(o: OptionSpec): string[] {
  const names = optionWords([o]);
  const exclusive = o.repeatable ? '*' : names.length > 1 ? `(${names.join(' ')})` : '';
  const value = o.value ? `${o.value.optional ? '::' : ':'}${zshField(o.value.name)}:${zshAction(o.value)}` : '';
  return names.map((name) => `'${exclusive}${name}${o.long === name && o.value ? '=' : ''}[${zshDescription(o.description)}]${value}'`);
}

function zshCommand(command: CommandSpec): string {
  const args = command.arguments.map((a, i) => `'${i + 1}:${a.required ? '' : ':'}${zshField(a.name)}:${zshAction(a.value)}'`);
  const specs = [...command.options.flatMap(zshOption), ...args];
  return [`        (${command.name})`, `          _arguments -s \\`, ...specs.map((s) => `            ${s} \\`), `            && ret=0 ;;`].join('\n');
}

export function zshCompletion(spec: ProgramSpec): string {
  const fn = `_${spec.name}`;
  const commands = spec.commands.map((c) => `    '${zshField(c.name)}:${zshText(c.summary, /(?!)/g)}'`);
  return `#compdef ${spec.name}
# zsh completion for ${spec.name}: written by \`${spec.name} completion zsh\` from its command definitions.
# Install: ${spec.name} completion zsh > /usr/local/share/zsh/site-functions/_${spec.name} (any folder on $fpath), then compinit.
${fn}() {
  local curcontext=$curcontext state line ret=1
  local -a commands
  commands=(
${commands.join('\n')}
  )
  _arguments -C \\
${spec.options.flatMap(zshOption).map((o) => `    ${o} \\`).join('\n')}
    '1: :->command' \\
    '*:: :->args' && ret=0
  case $state in
    (command) _describe -t commands '${spec.name} command' commands && ret=0 ;;
    (args)
      curcontext=\${curcontext%:*:*}:${spec.name}-$line[1]:
      case $line[1] in
${spec.commands.map(zshCommand).join('\n')}
        (help) _describe -t commands '${spec.name} command' commands && ret=0 ;;
      esac ;;
  esac
  return ret
}
${fn} "$@"
`;
}

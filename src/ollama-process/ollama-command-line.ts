import { basename } from 'node:path';

/** Runner executables Ollama has used for its model processes (v0.30+, and v0.4 and earlier). */
const RUNNER_PROGRAMS = new Set(['llama-server', 'ollama_llama_server']);

/**
 * True when `argv` is `<bin> serve`, as this service starts it. When the executable is a script, the
 * kernel runs its interpreter, so `argv` is then `<interpreter> [option] <path of bin> serve`.
 * Names are compared by their last path segment, because a relative `OLLAMA_BIN` appears as given.
 */
export function isServeCommand(argv: readonly string[] | undefined, bin: string): boolean {
  if (argv === undefined || argv.length < 2 || argv.length > 4 || argv[argv.length - 1] !== 'serve') {
    return false;
  }
  const program = basename(bin);
  return argv.slice(0, -1).some((arg) => basename(arg) === program);
}

/**
 * True when `argv` looks like a process `ollama serve` starts for a model: a `llama-server` or
 * `ollama_llama_server` runner, a second copy of `<bin>` (`ollama runner --model ...`, or
 * `<interpreter> <path of bin> ...` for a script), or any program started the way Ollama starts its
 * runners, with both `--model` and `--port`. Used only on processes already known to be in the
 * recorded process group, to make sure that group still holds Ollama's processes and nothing else.
 */
export function isOllamaGroupMember(argv: readonly string[] | undefined, bin: string): boolean {
  if (argv === undefined || argv.length === 0) {
    return false;
  }
  const names = argv.slice(0, 3).map((arg) => basename(arg));
  return (
    RUNNER_PROGRAMS.has(names[0]) ||
    names.includes(basename(bin)) ||
    (argv.includes('--model') && argv.includes('--port'))
  );
}

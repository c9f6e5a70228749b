/** A reading of a Dockerfile good enough to check what the image will run, without a Docker engine. */

export interface Instruction {
  keyword: string;
  /** The instruction's text after the keyword, with line continuations joined. */
  args: string;
}

export interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
}

function substitute(text: string, args: Record<string, string>): string {
  return text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced?: string, bare?: string) => args[braced ?? bare ?? ''] ?? whole,
  );
}

/**
 * Splits a Dockerfile into stages of instructions. Comment lines (also inside continuations) are dropped
 * as Docker drops them; the global `ARG` defaults are substituted into `FROM` lines.
 */
export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) {
      continue;
    }
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
    } else {
      logical.push(`${pending}${line}`.trim());
      pending = '';
    }
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical.filter((l) => l !== '')) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [image, as, name] = substitute(args, globalArgs)
        .split(/\s+/)
        .filter((word) => !word.startsWith('--'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (upper === 'ARG') {
        const [argName, value = ''] = args.split('=', 2);
        globalArgs[argName.trim()] = value.trim();
      }
    } else {
      stages[stages.length - 1].instructions.push({ keyword: upper, args });
    }
  }
  return { stages };
}

export function instructions(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).map((i) => i.args);
}

/** The JSON array of an exec-form instruction, or undefined when it is in shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) {
    return undefined;
  }
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
}

/** `RUN --mount=... npm ci ...` without its `--mount`/`--network` options. */
export function runCommand(args: string): string {
  return args.replace(/^(?:--\S+\s+)*/, '').trim();
}

/** `KEY=value` pairs of an `ENV` instruction (the only form used: no spaces in values). */
export function envPairs(args: string): Record<string, string> {
  return Object.fromEntries(
    args
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => {
        const [key, ...value] = pair.split('=');
        return [key, value.join('=').replace(/^"(.*)"$/, '$1')];
      }),
  );
}

export interface Healthcheck {
  options: Record<string, string>;
  command: string[];
}

/** `HEALTHCHECK --interval=30s ... CMD ["node", "-e", "..."]`, in exec form. */
export function parseHealthcheck(args: string): Healthcheck {
  const match = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(.*)$/s.exec(args);
  const command = match ? execForm(match[2]) : undefined;
  if (!match || !command) {
    throw new Error(`HEALTHCHECK is not in exec form: ${args}`);
  }
  const options = Object.fromEntries(
    match[1]
      .trim()
      .split(/\s+/)
      .filter((option) => option !== '')
      .map((option) => option.slice(2).split('=', 2) as [string, string]),
  );
  return { options, command };
}

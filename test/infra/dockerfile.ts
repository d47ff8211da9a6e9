/**
 * Just enough of the Dockerfile and .dockerignore formats to check what infra/docker/Dockerfile
 * does without a Docker engine (there is none on the project's machines).
 */

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY… */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  line: number;
}

export interface Stage {
  /** `AS name`, or the stage's index when it has none. */
  name: string;
  /** The FROM argument with ARG values substituted. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined). */
export function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const start = i;
    let joined = raw;
    while (joined.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      joined = joined.trimEnd().slice(0, -1);
      i++;
      const next = lines[i] ?? '';
      // Comment lines inside a continuation are removed by Docker.
      if (next.trimStart().startsWith('#')) {
        joined += '\\';
        continue;
      }
      joined += ` ${next.trim()}`;
    }
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(joined);
    if (!match) throw new Error(`line ${start + 1}: not an instruction: ${raw}`);
    result.push({
      keyword: (match[1] as string).toUpperCase(),
      args: (match[2] as string).trim(),
      line: start + 1,
    });
  }
  return result;
}

/** `${NAME}`, `$NAME` and `${NAME:-default}` as Docker expands them in FROM, ARG and ENV. */
export function substitute(value: string, args: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_all, braced, fallback, bare) => {
    const name = (braced ?? bare) as string;
    return args[name] ?? (fallback as string | undefined) ?? '';
  });
}

function argDeclaration(args: string): [string, string | undefined] {
  const [name, ...value] = args.split('=');
  return [(name as string).trim(), value.length > 0 ? unquote(value.join('=').trim()) : undefined];
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({
        name: match[2] ?? String(stages.length),
        from: substitute(match[1] as string, globalArgs),
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (instruction.keyword !== 'ARG')
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
      const [name, value] = argDeclaration(instruction.args);
      if (value !== undefined) globalArgs[name] = value;
      continue;
    }
    stage.instructions.push(instruction);
  }
  return { globalArgs, stages };
}

/** The ARG values a stage sees: its own declarations, or the global default of a re-declared one. */
export function stageArgs(dockerfile: Dockerfile, stage: Stage): Record<string, string> {
  const values: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    if (instruction.keyword !== 'ARG') continue;
    const [name, value] = argDeclaration(instruction.args);
    const resolved = value ?? dockerfile.globalArgs[name];
    if (resolved !== undefined) values[name] = resolved;
  }
  return values;
}

/** A JSON-array (exec form) argument such as `["node", "main.js"]`, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return parsed;
}

/** Splits `--flag=value --flag2=value src dest` into flags and the remaining words. */
export function copyArguments(args: string): { flags: Record<string, string>; paths: string[] } {
  const flags: Record<string, string> = {};
  const paths: string[] = [];
  for (const word of args.split(/\s+/)) {
    const flag = /^--([\w-]+)(?:=(.*))?$/.exec(word);
    if (flag) flags[flag[1] as string] = flag[2] ?? 'true';
    else paths.push(word);
  }
  return { flags, paths };
}

// --- .dockerignore ---------------------------------------------------------------------------

interface IgnoreRule {
  negate: boolean;
  pattern: RegExp;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches any number of directories (also none), a trailing `**` everything.
        if (glob[i + 2] === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/** Parses .dockerignore the way Docker reads it (comments, `!` exceptions, leading `/` dropped). */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const path = (negate ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, pattern: globToRegExp(path) };
    });
}

/**
 * Whether `path` (relative to the context root, `/`-separated) is left out of the build
 * context. A rule that matches a parent directory matches everything under it; the last
 * matching rule wins, so `!` exceptions re-include.
 */
export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.pattern.test(candidate))) ignored = !rule.negate;
  }
  return ignored;
}

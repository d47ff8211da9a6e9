import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/** Where the CLI's entry point sits in a checkout of the repository. */
const CHECKOUT_MAIN = join('apps', 'cli', 'dist', 'main.js');

/**
 * What to type in `cwd` to run this CLI again, for messages such as the banner of `start`:
 * at the root of a checkout its `pnpm runner-planner` script, elsewhere in a checkout
 * `node <path>`, and `runner-planner` for an installed copy, which its package put on the PATH.
 * `main` is the path of the running entry point (pnpm's shims run it through node_modules).
 */
export function cliCommand(main: string | undefined = process.argv[1], cwd = process.cwd()): string {
  if (main === undefined) return 'runner-planner';
  let real = main;
  try {
    real = realpathSync(main);
  } catch {}
  const fromCwd = relative(cwd, real);
  if (fromCwd === CHECKOUT_MAIN) return 'pnpm runner-planner';
  if (real.includes(`${sep}node_modules${sep}`)) return 'runner-planner';
  const inside = fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd);
  return `node ${inside ? fromCwd : real}`;
}

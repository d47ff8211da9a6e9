import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';

// cli-progress is required on first use, not imported: the program imports this file while it
// is built, and `--help` has no bar to draw.
const require = createRequire(import.meta.url);

export interface Progress {
  /** One more item done. */
  tick(count?: number): void;
  /** `done` of `total` in `stage`; the total may grow while the work is still being found. */
  update(done: number, total: number, stage?: string): void;
  stop(): void;
}

const QUIET: Progress = { tick() {}, update() {}, stop() {} };

/**
 * A progress bar on a terminal, nothing when stdout is piped, so scripts reading the output
 * (CSV, JSON) get only that. The bar itself goes to stderr (cli-progress's stream), and only
 * while there is something to count.
 */
export function progress(label: string, total = 0): Progress {
  if (!process.stdout.isTTY) return QUIET;
  const { SingleBar } = require('cli-progress') as typeof CliProgress;
  const bar = new SingleBar({ format: `${label}{stage} [{bar}] {value}/{total}`, hideCursor: true });
  let started = false;
  let shownTotal = 0;
  const ensureStarted = (newTotal: number, stage: string) => {
    if (!started && newTotal > 0) {
      bar.start(newTotal, 0, { stage });
      started = true;
      shownTotal = newTotal;
    } else if (started && newTotal !== shownTotal) {
      bar.setTotal(newTotal);
      shownTotal = newTotal;
    }
  };
  ensureStarted(total, '');
  return {
    tick(count = 1) {
      if (started) bar.increment(count);
    },
    update(done, newTotal, stage) {
      const shown = stage === undefined ? '' : ` ${stage}`;
      ensureStarted(newTotal, shown);
      if (started) bar.update(done, { stage: shown });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

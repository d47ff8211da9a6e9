// Loaded into the benchmarked apps with `--import` (Node refuses `--cpu-prof` in NODE_OPTIONS):
// samples the whole process and writes a .cpuprofile into BENCH_CPU_PROFILE_DIR when it exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const directory = process.env.BENCH_CPU_PROFILE_DIR;
if (directory) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-process inspector answers synchronously, so this completes before exit.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      writeFileSync(join(directory, `app-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

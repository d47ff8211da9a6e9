/** The key under which the global setup hands the admin URL to test workers (vitest `provide`/`inject`). */
export const ADMIN_URL_KEY = 'runnerPlannerTestPostgresAdminUrl';

declare module 'vitest' {
  export interface ProvidedContext {
    [ADMIN_URL_KEY]: string;
  }
}

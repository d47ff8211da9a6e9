import { createServer, type Server } from 'node:http';
import { closeHttpServer, listenOnLoopback } from './loopback-http.js';

export interface FakeGitLabJob {
  id: number;
  tag_list: string[];
  /** `created`, `pending`, `running`, `success`, `failed`, `canceled`, `skipped`, `manual`…; default `pending`. */
  status?: string;
  created_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
}

/**
 * A stand-in for the parts of the GitLab REST API runner-planner calls, served on 127.0.0.1 so
 * the real @gitbeaker client is exercised end to end. Only forge APIs are faked in this project.
 */
export interface FakeGitLab {
  url: string;
  token: string;
  setJob(projectId: number, job: FakeGitLabJob): void;
  /** Forgets a job: lookups answer 404, as for a job whose project was deleted. */
  deleteJob(projectId: number, jobId: number): void;
  /** The next `count` API calls answer `status` (500 by default). */
  failNext(count: number, status?: number): void;
  /** Every job lookup answers `status` until cleared with `failAll(null)`. */
  failAll(status: number | null): void;
  /** Answers every request after this many milliseconds (0 to answer at once). */
  setDelay(ms: number): void;
  /** Paths requested so far, e.g. `/api/v4/projects/1/jobs/2`. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeGitLab(token = 'glpat-test-token'): Promise<FakeGitLab> {
  const jobs = new Map<string, FakeGitLabJob>();
  const requests: string[] = [];
  let failures = 0;
  let failureStatus = 500;
  let alwaysFail: number | null = null;
  let delayMs = 0;

  const server: Server = createServer(async (request, response) => {
    // Recorded on arrival, so a test can act while a delayed answer is still pending.
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    requests.push(path);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers['private-token'] !== token) return reply(401, { message: '401 Unauthorized' });
    if (alwaysFail !== null) return reply(alwaysFail, { message: 'failing on purpose' });
    if (failures > 0) {
      failures -= 1;
      return reply(failureStatus, { message: 'failing on purpose' });
    }
    const match = /^\/api\/v4\/projects\/([^/]+)\/jobs\/(\d+)$/.exec(path);
    const job = match ? jobs.get(`${decodeURIComponent(match[1] ?? '')}/${match[2]}`) : undefined;
    if (request.method !== 'GET' || job === undefined) return reply(404, { message: '404 Not found' });
    return reply(200, { status: 'pending', started_at: null, finished_at: null, ...job });
  });
  const url = await listenOnLoopback(server);

  return {
    url,
    token,
    requests,
    setJob(projectId, job) {
      jobs.set(`${projectId}/${job.id}`, job);
    },
    deleteJob(projectId, jobId) {
      jobs.delete(`${projectId}/${jobId}`);
    },
    failNext(count, status = 500) {
      failures = count;
      failureStatus = status;
    },
    failAll(status) {
      alwaysFail = status;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close: () => closeHttpServer(server),
  };
}

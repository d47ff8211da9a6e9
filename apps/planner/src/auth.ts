import { createHash, timingSafeEqual } from 'node:crypto';
import { type Database, NotExistError, type TokenScope } from '@runner-planner/database';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendText } from './respond.js';

/** Who a request acts as: the admin token, or a general token by name, with its scope. */
export type Principal = { kind: 'admin' } | { kind: 'token'; name: string; scope: TokenScope };

export interface RequireAuthOptions {
  /** Only the admin token is accepted (token management, listing every flavor). */
  adminOnly?: boolean;
  /**
   * The route changes something (flavors, job timestamps): a read-only token is answered 403
   * `forbidden: read-only token`. General tokens and the admin token may.
   */
  write?: boolean;
}

/** The answer to a read-only token on a route that changes something. */
export const READ_ONLY_REFUSAL = 'forbidden: read-only token';

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface Authenticator {
  /**
   * A hook (usable as `onRequest` or `preHandler`) that lets the request through or answers it
   * as the original planner v1 did:
   * - `Authorization` missing, not exactly `<scheme> <token>` (split on the first space), or a
   *   scheme other than `Bearer` (any case) → 400 `invalid authorization header`;
   * - a token that is not accepted → 401 `unauthorized` with `WWW-Authenticate: Bearer`.
   *
   * On an admin-only route a valid general token is "not accepted" too (401, not 403): the
   * original's admin middleware compared the token with the admin token and nothing else, so
   * a general token was simply a wrong token there. On a `write` route a read-only token is
   * accepted but not allowed: 403 `forbidden: read-only token` (the original had no scopes).
   */
  requireAuth(options?: RequireAuthOptions): AuthHook;
  /** The principal a bearer token stands for, or undefined when it is not accepted. */
  authenticate(token: string, options?: RequireAuthOptions): Promise<Principal | undefined>;
}

/** A general token is 32 random bytes, sent as base64url without padding: 43 characters. */
const GENERAL_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const GENERAL_TOKEN_BYTES = 32;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook of the route; null on routes without auth. */
    principal: Principal | null;
  }
}

export function createAuthenticator(options: {
  adminToken: string;
  db: Pick<Database, 'lookupAuthToken'>;
}): Authenticator {
  const adminDigest = digest(options.adminToken);
  const { db } = options;

  async function authenticate(token: string, auth: RequireAuthOptions = {}): Promise<Principal | undefined> {
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    if (timingSafeEqual(digest(token), adminDigest)) return { kind: 'admin' };
    if (auth.adminOnly) return undefined;
    const bytes = decodeGeneralToken(token);
    if (bytes === undefined) return undefined;
    try {
      const { name, scope } = await db.lookupAuthToken(bytes);
      return { kind: 'token', name, scope };
    } catch (err) {
      if (err instanceof NotExistError) return undefined;
      throw err;
    }
  }

  return {
    authenticate,
    requireAuth(auth: RequireAuthOptions = {}): AuthHook {
      return async (request, reply) => {
        const token = bearerToken(request.headers.authorization);
        if (token === undefined) {
          await sendText(reply, 400, 'invalid authorization header');
          return;
        }
        let principal: Principal | undefined;
        try {
          principal = await authenticate(token, auth);
        } catch (err) {
          // The original's answer when its token store fails, without the store's error.
          request.log.error({ err }, 'verifying a token failed');
          await sendText(reply, 500, 'failed to verify auth token');
          return;
        }
        if (principal === undefined) {
          await sendText(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized');
          return;
        }
        if (auth.write && principal.kind === 'token' && principal.scope === 'read-only') {
          await sendText(reply, 403, READ_ONLY_REFUSAL);
          return;
        }
        request.principal = principal;
      };
    },
  };
}

/**
 * The token of an `Authorization: Bearer <token>` header, split on the first space like the
 * original (so `Bearer  x` has the token ` x`, which no token matches). Missing, empty,
 * one-part or non-Bearer headers give undefined.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if (space === -1) return undefined;
  if (header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  return header.slice(space + 1);
}

/** The 32 bytes of a general token, or undefined when it cannot be one. */
export function decodeGeneralToken(token: string): Uint8Array | undefined {
  if (!GENERAL_TOKEN.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  return bytes.length === GENERAL_TOKEN_BYTES ? new Uint8Array(bytes) : undefined;
}

/** How a new general token is handed out: base64url without padding. */
export function encodeGeneralToken(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

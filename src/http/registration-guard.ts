import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { isHashedClientSecret } from '../clients/client-secret.ts';
import type { SelfRegistrationGrant } from '../clients/registration-tokens.ts';
import { addressGroup } from '../throttle/address-group.ts';
import type { AttemptThrottle, ThrottleKey } from '../throttle/attempt-throttle.ts';
import type { ThrottlePolicy } from '../throttle/throttle-policy.ts';
import { sendOAuthError } from './oauth-error.ts';

const REGISTRATION = '/reg'; // oidc-provider's registration route (and /reg/:clientId for RFC 7592)
const BEARER = /^Bearer +([\w\-.~+/]+=*) *$/i;

/** The grant of each registration request in flight, for the engine's synchronous metadata validator. */
export function createRegistrationGrants() {
  const grants = new WeakMap<IncomingMessage, SelfRegistrationGrant>();
  return {
    set: (req: IncomingMessage, grant: SelfRegistrationGrant) => grants.set(req, grant),
    get: (req: IncomingMessage) => grants.get(req),
  };
}
export type RegistrationGrants = ReturnType<typeof createRegistrationGrants>;

/**
 * In front of oidc-provider's registration endpoint (RFC 7591) and its management endpoint
 * (RFC 7592), before the engine reads anything:
 * - REGISTRATION=open: each address may register `perHour` clients an hour (then 429 with
 *   Retry-After); the grant is the open policy's.
 * - REGISTRATION=token: the grant is what the presented initial access token was made with (the
 *   engine itself checks the token and answers 401 for a bad one).
 * The engine's metadata validator then shapes the client to that grant (self-registration.ts).
 * Client secrets are stored as keyed hashes, so the engine's read and update answers would carry
 * the hash: it is taken out (the client has its secret from the registration response).
 */
export function registrationGuard(deps: {
  mode: 'token' | 'open';
  grants: RegistrationGrants;
  openGrant: () => Promise<SelfRegistrationGrant>;
  tokenGrant: (token: string) => Promise<SelfRegistrationGrant | undefined>;
  throttle: AttemptThrottle;
  openPolicy: ThrottlePolicy;
}): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== REGISTRATION && !ctx.path.startsWith(`${REGISTRATION}/`)) return next();
    if (ctx.path === REGISTRATION && ctx.method === 'POST') {
      if (deps.mode === 'open') {
        const key: ThrottleKey = { scope: 'registration:ip', value: addressGroup(ctx.ip), policy: deps.openPolicy };
        const attempt = await deps.throttle.take([key]);
        if (!attempt.isAllowed) {
          return sendOAuthError(ctx, 429, 'rate_limited', 'too many registrations from this address; try again later', {
            'Retry-After': String(attempt.retryAfterSeconds),
          });
        }
        deps.grants.set(ctx.req, await deps.openGrant());
      } else {
        const token = BEARER.exec(ctx.get('authorization'))?.[1];
        const grant = token ? await deps.tokenGrant(token) : undefined;
        if (grant) deps.grants.set(ctx.req, grant);
      }
      return next();
    }
    await next();
    const body = ctx.body as { client_secret?: unknown } | undefined;
    if (body && typeof body.client_secret === 'string' && isHashedClientSecret(body.client_secret)) {
      delete body.client_secret;
      delete (body as { client_secret_expires_at?: unknown }).client_secret_expires_at;
    }
  };
}

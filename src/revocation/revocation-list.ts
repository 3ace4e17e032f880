import { createHash } from 'node:crypto';

/**
 * What makes a JWT access token revoked before it expires. Each event is kept only as long as a
 * token it covers could still be valid (`exp`), so the list stays proportional to live tokens.
 */
export type RevocationEvent =
  /** One token (RFC 7009 revocation of a JWT access token). */
  | { type: 'token'; jti: string; exp: number }
  /** Every token of one grant (refresh-token reuse, revocation of a refresh token). */
  | { type: 'grant'; gid: string; exp: number }
  /** Every token of a user issued up to `iat_before` (sign out everywhere). */
  | { type: 'subject'; sub: string; iat_before: number; exp: number }
  /** Every token issued to one client, whenever (the client was deleted). */
  | { type: 'client'; client_id: string; exp: number }
  /** Every token of a user for one API (`aud`) issued up to `iat_before` (a role taken away). */
  | { type: 'subject_audience'; sub: string; aud: string; iat_before: number; exp: number };

export type RevocationFeedPage = { events: (RevocationEvent & { cursor: string })[]; cursor: string };

/** The claims of an access token that revocation can match. */
export type TokenFacts = { jti?: string; gid?: string; sub?: string; iat?: number; clientId?: string; aud?: readonly string[] };

/** How a `subject_audience` event is looked up: one key for the pair, unambiguous whatever the strings hold. */
export const subjectAudienceKey = (sub: string, aud: string) => JSON.stringify([sub, aud]);

export type RevocationList = {
  record(event: RevocationEvent): Promise<void>;
  isRevoked(token: TokenFacts): Promise<boolean>;
  /** Events after `cursor` (oldest first); no cursor = every event still in force. */
  feed(cursor: string | undefined, limit: number): Promise<RevocationFeedPage>;
};

/**
 * The `gid` claim: which grant a token belongs to, as a digest, so a resource server can match
 * grant revocations without learning the grant's storage id.
 */
export const grantDigest = (grantId: string) => createHash('sha256').update(`gid:${grantId}`).digest('base64url').slice(0, 22);

const FETCH_TIMEOUT_MS = 5_000;
/** Bounds one poll, should a feed keep moving its cursor. */
const MAX_PAGES_PER_POLL = 50;
type FeedEvent =
  | { type: 'token'; jti: string; exp: number }
  | { type: 'grant'; gid: string; exp: number }
  | { type: 'subject'; sub: string; iat_before: number; exp: number }
  | { type: 'client'; client_id: string; exp: number }
  | { type: 'subject_audience'; sub: string; aud: string; iat_before: number; exp: number };

export type RevocationFollower = {
  isRevoked(token: { jti?: string; gid?: string; sub: string; iat: number; clientId?: string; aud?: readonly string[] }): boolean;
  /** Settles when the first sync has finished, successfully or not. */
  readonly firstSync: Promise<void>;
  stop(): Promise<void>;
};

/**
 * Follows Gatehouse's revocation feed (GET /revocations, README "Revocation") and keeps the
 * events in memory until the tokens they cover have expired, so `isRevoked` answers without a
 * network call. If the feed is unreachable it keeps answering from what it knew.
 */
export function followRevocations(deps: {
  feedUrl: string;
  clientId: string;
  clientSecret: string;
  pollIntervalMs: number;
  fetch: () => typeof fetch;
  signal: AbortSignal;
  onSynced(): void;
  onFailed(err: Error): void;
}): RevocationFollower {
  const tokens = new Map<string, number>(); // jti → exp
  const grants = new Map<string, number>(); // gid → exp
  const subjects = new Map<string, { iatBefore: number; exp: number }>();
  const clients = new Map<string, number>(); // client_id → exp
  const subjectAudiences = new Map<string, { iatBefore: number; exp: number }>(); // [sub, aud] → cut-off
  // The pair as one key, unambiguous whatever the strings hold (as the server keys it).
  const pairKey = (sub: string, aud: string) => JSON.stringify([sub, aud]);
  let cursor: string | undefined; // none yet: the first poll reads the full snapshot
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  // RFC 6749 §2.3.1: client id and secret are form-encoded before Basic encoding.
  const authorization = `Basic ${btoa(`${encodeURIComponent(deps.clientId)}:${encodeURIComponent(deps.clientSecret)}`)}`;

  // A later cut-off covers more: never let an older event narrow it.
  const cutOff = (map: Map<string, { iatBefore: number; exp: number }>, key: string, e: { iat_before: number; exp: number }) => {
    const known = map.get(key);
    map.set(key, { iatBefore: Math.max(e.iat_before, known?.iatBefore ?? 0), exp: Math.max(e.exp, known?.exp ?? 0) });
  };
  const apply = (e: FeedEvent) => {
    if (typeof e?.exp !== 'number') return;
    if (e.type === 'token' && typeof e.jti === 'string') tokens.set(e.jti, Math.max(e.exp, tokens.get(e.jti) ?? 0));
    else if (e.type === 'grant' && typeof e.gid === 'string') grants.set(e.gid, Math.max(e.exp, grants.get(e.gid) ?? 0));
    else if (e.type === 'subject' && typeof e.sub === 'string' && typeof e.iat_before === 'number') cutOff(subjects, e.sub, e);
    else if (e.type === 'subject_audience' && typeof e.sub === 'string' && typeof e.aud === 'string' && typeof e.iat_before === 'number') {
      cutOff(subjectAudiences, pairKey(e.sub, e.aud), e);
    } else if (e.type === 'client' && typeof e.client_id === 'string') clients.set(e.client_id, Math.max(e.exp, clients.get(e.client_id) ?? 0));
    // Any other type comes from a newer Gatehouse: ignored, as the feed's specification says.
  };

  // An event outlives every token it covers, so once its exp has passed it can go.
  const prune = () => {
    const now = Date.now() / 1000;
    for (const [k, exp] of tokens) if (exp < now) tokens.delete(k);
    for (const [k, exp] of grants) if (exp < now) grants.delete(k);
    for (const [k, s] of subjects) if (s.exp < now) subjects.delete(k);
    for (const [k, exp] of clients) if (exp < now) clients.delete(k);
    for (const [k, s] of subjectAudiences) if (s.exp < now) subjectAudiences.delete(k);
  };

  const page = async (cursor: string | undefined) => {
    const url = new URL(deps.feedUrl);
    if (cursor !== undefined) url.searchParams.set('cursor', cursor);
    const res = await deps.fetch()(url, {
      headers: { authorization, accept: 'application/json' },
      signal: AbortSignal.any([deps.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]),
    });
    if (!res.ok) throw new Error(`GET ${deps.feedUrl} answered ${res.status}`);
    const body = (await res.json()) as { events?: FeedEvent[]; cursor?: string };
    if (!Array.isArray(body.events) || typeof body.cursor !== 'string') throw new Error(`GET ${deps.feedUrl}: unexpected body`);
    return body as { events: FeedEvent[]; cursor: string };
  };

  const poll = async () => {
    // Page until the cursor stops moving (a page of expired events may not be the last). The
    // feed never lets a cursor pass an event that is still to appear (see the Postgres list).
    for (let i = 0; i < MAX_PAGES_PER_POLL; i += 1) {
      const next = await page(cursor);
      for (const e of next.events) apply(e);
      if (next.cursor === cursor) break;
      cursor = next.cursor;
    }
    prune();
  };

  const tick = async () => {
    running = poll().then(deps.onSynced, (err: Error) => deps.onFailed(err));
    await running;
    // unref: following the feed never keeps a process alive.
    if (!deps.signal.aborted) timer = setTimeout(() => void tick(), deps.pollIntervalMs).unref();
  };

  return {
    isRevoked(t) {
      if (t.jti !== undefined && tokens.has(t.jti)) return true;
      if (t.gid !== undefined && grants.has(t.gid)) return true;
      if (t.clientId !== undefined && clients.has(t.clientId)) return true;
      const s = subjects.get(t.sub);
      if (s !== undefined && t.iat <= s.iatBefore) return true;
      return (t.aud ?? []).some((a) => {
        const sa = subjectAudiences.get(pairKey(t.sub, a));
        return sa !== undefined && t.iat <= sa.iatBefore;
      });
    },
    firstSync: tick(),
    async stop() {
      clearTimeout(timer);
      await running;
    },
  };
}

import type { Logger } from 'pino';
import { type RevocationEvent, type RevocationList, subjectAudienceKey, type TokenFacts } from './revocation-list.ts';

const PAGE = 1000;
/**
 * Each poll re-reads the events of the last few polls. A Postgres feed is ordered by a serial id,
 * and a row that took its id before another but committed after it would fall behind a cursor
 * that moved on; the overlap reads it anyway (duplicates are harmless: events only ever add).
 */
const OVERLAP_POLLS = 5;

export type RevocationMirror = {
  /** Synchronous: answers from memory. Undefined until the first full load has succeeded. */
  isRevoked(token: TokenFacts): boolean | undefined;
  /** Starts following the feed (once); settles when the first load attempt has finished. */
  start(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * An in-memory copy of the revocation list, kept current by following its feed: lets a check
 * that runs on every API request (forward auth) answer without a storage round trip. A token
 * revoked anywhere is refused here within about one poll interval. If storage is unreachable the
 * copy keeps answering from what it last knew and logs a warning.
 */
export function createRevocationMirror(deps: { revocations: RevocationList; logger: Logger; pollIntervalMs: number }): RevocationMirror {
  const tokens = new Map<string, number>(); // jti → exp
  const grants = new Map<string, number>(); // gid → exp
  const subjects = new Map<string, { iatBefore: number; exp: number }>();
  const clients = new Map<string, number>(); // client_id → exp
  const subjectAudiences = new Map<string, { iatBefore: number; exp: number }>(); // [sub, aud] → cut-off
  let isLoaded = false;
  let cursors: (string | undefined)[] = [undefined]; // oldest first; undefined = the full snapshot
  let timer: NodeJS.Timeout | undefined;
  let started: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let isStopped = false;
  let failingSince: number | undefined;

  // A later cut-off covers more; never let an older event narrow it.
  const cutOff = (map: Map<string, { iatBefore: number; exp: number }>, key: string, e: { iat_before: number; exp: number }) => {
    const known = map.get(key);
    map.set(key, { iatBefore: Math.max(e.iat_before, known?.iatBefore ?? 0), exp: Math.max(e.exp, known?.exp ?? 0) });
  };
  const apply = (e: RevocationEvent) => {
    if (e.type === 'token') tokens.set(e.jti, Math.max(e.exp, tokens.get(e.jti) ?? 0));
    else if (e.type === 'grant') grants.set(e.gid, Math.max(e.exp, grants.get(e.gid) ?? 0));
    else if (e.type === 'client') clients.set(e.client_id, Math.max(e.exp, clients.get(e.client_id) ?? 0));
    else if (e.type === 'subject') cutOff(subjects, e.sub, e);
    else if (e.type === 'subject_audience') cutOff(subjectAudiences, subjectAudienceKey(e.sub, e.aud), e);
    // an unknown type (written by a newer instance during a rolling upgrade): ignored
  };

  // An event outlives every token it covers, so once its exp has passed it can go.
  const prune = () => {
    const now = Math.floor(Date.now() / 1000);
    for (const [k, exp] of tokens) if (exp < now) tokens.delete(k);
    for (const [k, exp] of grants) if (exp < now) grants.delete(k);
    for (const [k, s] of subjects) if (s.exp < now) subjects.delete(k);
    for (const [k, exp] of clients) if (exp < now) clients.delete(k);
    for (const [k, s] of subjectAudiences) if (s.exp < now) subjectAudiences.delete(k);
  };

  const poll = async () => {
    let cursor = cursors[0];
    // Page until the cursor stops moving (a page may hold only expired events and still not be the last).
    for (;;) {
      const page = await deps.revocations.feed(cursor, PAGE);
      for (const e of page.events) apply(e);
      if (page.cursor === cursor) break;
      cursor = page.cursor;
    }
    cursors = [...cursors, cursor].slice(-OVERLAP_POLLS);
    prune();
    isLoaded = true;
    if (failingSince !== undefined) deps.logger.info('revocation feed reachable again');
    failingSince = undefined;
  };

  const tick = async () => {
    running = poll().catch((err: Error) => {
      // Warn once per outage, not once per poll.
      if (failingSince === undefined) deps.logger.warn({ err: err.message }, 'revocation feed unreachable: answering from the last known list');
      failingSince ??= Date.now();
    });
    await running;
    if (!isStopped) timer = setTimeout(() => void tick(), deps.pollIntervalMs).unref();
  };

  return {
    isRevoked(t) {
      if (!isLoaded) return undefined;
      if (t.jti !== undefined && tokens.has(t.jti)) return true;
      if (t.gid !== undefined && grants.has(t.gid)) return true;
      if (t.clientId !== undefined && clients.has(t.clientId)) return true;
      if (t.sub === undefined || t.iat === undefined) return false;
      const s = subjects.get(t.sub);
      if (s && t.iat <= s.iatBefore) return true;
      return (t.aud ?? []).some((a) => {
        const sa = subjectAudiences.get(subjectAudienceKey(t.sub!, a));
        return sa !== undefined && t.iat! <= sa.iatBefore;
      });
    },
    start() {
      started ??= tick();
      return started;
    },
    async stop() {
      isStopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

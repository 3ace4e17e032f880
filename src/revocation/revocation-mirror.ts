import type { Logger } from 'pino';
import type { RevocationEvent, RevocationList, TokenFacts } from './revocation-list.ts';

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
  let isLoaded = false;
  let cursors: (string | undefined)[] = [undefined]; // oldest first; undefined = the full snapshot
  let timer: NodeJS.Timeout | undefined;
  let started: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let isStopped = false;
  let failingSince: number | undefined;

  const apply = (e: RevocationEvent) => {
    if (e.type === 'token') tokens.set(e.jti, Math.max(e.exp, tokens.get(e.jti) ?? 0));
    else if (e.type === 'grant') grants.set(e.gid, Math.max(e.exp, grants.get(e.gid) ?? 0));
    else if (e.type === 'client') clients.set(e.client_id, Math.max(e.exp, clients.get(e.client_id) ?? 0));
    else if (e.type === 'subject') {
      const known = subjects.get(e.sub);
      // A later sign-out covers more; never let an older event narrow the cut-off.
      subjects.set(e.sub, { iatBefore: Math.max(e.iat_before, known?.iatBefore ?? 0), exp: Math.max(e.exp, known?.exp ?? 0) });
    } // an unknown type (written by a newer instance during a rolling upgrade): ignored
  };

  // An event outlives every token it covers, so once its exp has passed it can go.
  const prune = () => {
    const now = Math.floor(Date.now() / 1000);
    for (const [k, exp] of tokens) if (exp < now) tokens.delete(k);
    for (const [k, exp] of grants) if (exp < now) grants.delete(k);
    for (const [k, s] of subjects) if (s.exp < now) subjects.delete(k);
    for (const [k, exp] of clients) if (exp < now) clients.delete(k);
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
      const s = t.sub === undefined ? undefined : subjects.get(t.sub);
      return Boolean(s && t.iat !== undefined && t.iat <= s.iatBefore);
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

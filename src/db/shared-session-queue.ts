import { type PGlite, protocol } from '@electric-sql/pglite';
import type { Knex } from 'knex';

/**
 * What pglite-socket's PGLiteSocketHandler asks of its queue (0.2.17; its own QueryQueueManager
 * is not exported). The handler frames the wire protocol and answers SSL and cancel requests; the
 * queue runs each client message against PGlite.
 */
export type SessionQueue = {
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number>;
  clearQueueForHandler(handlerId: number): void;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
};

export type SharedSessionQueue = SessionQueue & {
  /** Lets messages through (until then they wait: the server is still starting). */
  open(): void;
  /** Refuses what still waits, and lets go of every connection's hold. */
  close(): void;
};

type Session = {
  /** The knex pool's one PGlite connection while this client is inside a unit of work. */
  held?: PGlite;
  /** This client's messages and its cleanup, in order. */
  chain: Promise<unknown>;
  parser: InstanceType<typeof protocol.Parser>;
  isClosed: boolean;
  holdTimer?: NodeJS.Timeout;
};

const TERMINATE = 0x58; // 'X': must not end the one backend session everybody shares

/**
 * PGlite is one Postgres session. The server uses it through knex (whose pool is that one
 * connection) and socket clients (the CLI) send it raw protocol messages: if their messages
 * interleaved, a client's statement could run inside the server's open transaction (and vanish
 * with its rollback), or the server's queries inside the client's. pglite-socket's own queue
 * locks PGlite per message only, which does not stop that. So a client takes the knex pool's
 * connection for a whole unit of work — from its first message until PGlite is idle again
 * (ReadyForQuery with status `I`, which the protocol sends after a simple Query or a Sync once no
 * transaction block is open: "Message Flow" in the Postgres docs) — and the server's own queries
 * wait in the pool meanwhile.
 *
 * Postgres delivers NOTIFY to the session's frontend, which for a client's statement is that
 * client's byte stream: notifications seen there are handed to `onNotification` too.
 */
export function createSharedSessionQueue(options: {
  knex: Knex;
  onNotification: (channel: string, payload: string) => void;
  /** A client that sits inside a unit this long without a message is cut off and rolled back. */
  holdTimeoutMs: number;
  onHoldTimeout: (handlerId: number) => void;
  /** Rolling back after a client vanished failed (pglite-socket does not catch what this throws). */
  onCleanupFailed: (err: Error) => void;
}): SharedSessionQueue {
  const { knex } = options;
  const sessions = new Map<number, Session>();
  let isOpen = false;
  let isClosed = false;
  let letThrough = () => {};
  const gate = new Promise<void>((resolve) => (letThrough = resolve));

  const sessionFor = (id: number) => {
    let session = sessions.get(id);
    if (!session) {
      session = { chain: Promise.resolve(), parser: new protocol.Parser(), isClosed: false };
      sessions.set(id, session);
    }
    return session;
  };

  const release = async (session: Session) => {
    clearTimeout(session.holdTimer);
    const held = session.held;
    session.held = undefined;
    if (held) await knex.client.releaseConnection(held);
  };

  /** Back to idle after a client vanished mid-unit, as a real backend's exit would leave things. */
  const abandon = async (session: Session) => {
    const held = session.held;
    if (!held) return;
    try {
      // Ends a half-sent extended query (Sync), then rolls back an open transaction block.
      await held.runExclusive(() => held.execProtocolRaw(protocol.serialize.sync()));
      if (held.isInTransaction()) await held.exec('ROLLBACK');
    } finally {
      await release(session);
    }
  };

  const run = async (id: number, session: Session, message: Uint8Array, onData: (data: Uint8Array) => void) => {
    await gate;
    if (isClosed || session.isClosed) throw new Error('connection closed');
    if (message[0] === TERMINATE) return 0;
    clearTimeout(session.holdTimer);
    session.held ??= (await knex.client.acquireConnection()) as PGlite;
    const held = session.held;
    if (isClosed || session.isClosed) {
      await release(session); // it went away while waiting for the server's queries to finish
      throw new Error('connection closed');
    }
    let bytes = 0;
    let idle = false;
    await held.runExclusive(() =>
      held.execProtocolRawStream(message, {
        onRawData: (data) => {
          bytes += data.length;
          session.parser.parse(data, (msg) => {
            if (msg.name === 'readyForQuery') idle = (msg as unknown as { status: string }).status === 'I';
            else if (msg.name === 'notification') {
              const { channel, payload } = msg as unknown as { channel: string; payload: string };
              options.onNotification(channel, payload);
            }
          });
          onData(data);
        },
      }),
    );
    if (idle) await release(session);
    else session.holdTimer = setTimeout(() => options.onHoldTimeout(id), options.holdTimeoutMs).unref();
    return bytes;
  };

  const end = (id: number) => {
    const session = sessions.get(id);
    if (!session) return Promise.resolve();
    sessions.delete(id);
    session.isClosed = true;
    clearTimeout(session.holdTimer);
    // After whatever message is still running: then nothing of this client is left behind.
    const done = session.chain.then(() => abandon(session)).catch((err: Error) => options.onCleanupFailed(err));
    session.chain = done;
    return done;
  };

  return {
    enqueue(id, message, onData) {
      const session = sessionFor(id);
      const result = session.chain.then(() => run(id, session, message, onData));
      session.chain = result.catch(() => {});
      return result;
    },
    clearQueueForHandler() {
      // Nothing queues here beyond the chain above, which end() drains.
    },
    clearTransactionIfNeeded: end,
    open() {
      if (isOpen || isClosed) return;
      isOpen = true;
      letThrough();
    },
    close() {
      isClosed = true;
      for (const session of sessions.values()) session.isClosed = true;
      letThrough(); // waiting messages now see their session closed
    },
  };
}

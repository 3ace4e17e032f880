import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './own-services.ts';

export type ReceivedMail = ParsedMail & { envelopeTo: string[]; authenticatedAs: string | undefined };

export type TestSmtp = {
  port: number;
  /** smtp://user:password@127.0.0.1:port: what SMTP_URL is set to. */
  url: string;
  /** Every message received so far, in order. */
  received: ReceivedMail[];
  /** Resolves with the next message (from now, or one already received and not yet taken) for this address. */
  nextMessageFor: (address: string, timeoutMs?: number) => Promise<ReceivedMail>;
  /** Logins refused (wrong credentials). */
  refusedLogins: () => number;
  /** Stops listening (an outage); `start` listens again on the same port. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
};

/**
 * A real SMTP server on loopback (smtp-server) that requires AUTH with the given credentials, so
 * a delivery proves the credentials in SMTP_URL were used. Messages are parsed with mailparser.
 * No TLS: STARTTLS is not offered, and plain AUTH is allowed on this loopback-only server.
 */
export async function startTestSmtp(options: { user?: string; password?: string } = {}): Promise<TestSmtp> {
  const user = options.user ?? 'gatehouse';
  const password = options.password ?? 'smtp-p@ss/word';
  const port = await freePort();
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  let waiters: { address: string; resolve: (m: ReceivedMail) => void }[] = [];
  let refused = 0;

  const deliverToWaiters = (mail: ReceivedMail) => {
    const waiter = waiters.find((w) => mail.envelopeTo.includes(w.address));
    if (!waiter) return;
    waiters = waiters.filter((w) => w !== waiter);
    taken.add(mail);
    waiter.resolve(mail);
  };

  const newServer = () =>
    new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === user && auth.password === password) return callback(null, { user });
        refused += 1;
        return callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            const mail = Object.assign(parsed, {
              envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              authenticatedAs: typeof session.user === 'string' ? session.user : undefined,
            });
            received.push(mail);
            deliverToWaiters(mail);
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });

  let server: SMTPServer | undefined;
  const start = async () => {
    server = newServer();
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();

  return {
    port,
    url: `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    received,
    refusedLogins: () => refused,
    nextMessageFor(address, timeoutMs = 15_000) {
      const wanted = address.toLowerCase();
      const already = received.find((m) => !taken.has(m) && m.envelopeTo.includes(wanted));
      if (already) {
        taken.add(already);
        return Promise.resolve(already);
      }
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(new Error(`no message for ${address} within ${timeoutMs} ms (received ${received.length} in all)`));
        }, timeoutMs);
        const done = (m: ReceivedMail) => {
          clearTimeout(timer);
          resolve(m);
        };
        waiters.push({ address: wanted, resolve: done });
      });
    },
    stop,
    start,
  };
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_CODE_POLICY } from '../src/http/device-code-guard.ts';
import { createSignInAttempts } from '../src/interactions/sign-in-throttle.ts';
import { createPostgresShortLivedStore, createRedisShortLivedStore, type ShortLivedStore } from '../src/short-lived/short-lived-store.ts';
import { addressGroup } from '../src/throttle/address-group.ts';
import { createAttemptThrottle, createSignInThrottle } from '../src/throttle/attempt-throttle.ts';
import { perHour, scaled, type ThrottlePolicy, waitSecondsAfter } from '../src/throttle/throttle-policy.ts';
import { testRedisUrl } from './support/test-env.ts';
import { createTestDatabase, createTestRedis } from './support/test-storage.ts';

/**
 * The throttle's arithmetic: the policy function, the two stores that apply it atomically (a
 * Lua script, one SQL statement), and the sign-in attempts built on them (email and IP keys, the
 * per-IP factor, give-backs). No HTTP: the slow flow tests in throttle.test.ts check the pages.
 * Waits are not slept through: the test lifts a key's hold in the store, as the clock would.
 */

const policy = (p: Partial<ThrottlePolicy>): ThrottlePolicy => ({
  freeAttempts: 5,
  blockAfter: 10,
  blockSeconds: 900,
  maxDelaySeconds: 60,
  windowSeconds: 3600,
  ...p,
});
const waits = (p: ThrottlePolicy, upTo: number) => Array.from({ length: upTo }, (_, i) => waitSecondsAfter(i + 1, p));

describe('the wait after each counted attempt (waitSecondsAfter)', () => {
  const DEFAULTS = { freeAttempts: 5, blockAfter: 10, blockSeconds: 900, ipFactor: 10 }; // LOGIN_THROTTLE_* defaults

  it('lets the free attempts through back to back, then waits 1, 2, 4 … s, and blocks from blockAfter on', () => {
    const { account } = createSignInThrottle(DEFAULTS, undefined as never);
    // The 5th counted attempt is the last free one: the 6th waits 1 s after it.
    expect(waits(account, 12)).toEqual([0, 0, 0, 0, 1, 2, 4, 8, 16, 900, 900, 900]);
  });

  it('caps the doubling at maxDelaySeconds, reached exactly or from below', () => {
    const long = policy({ freeAttempts: 1, blockAfter: 1000 });
    expect(waits(long, 9)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]); // 64 would be next
    expect(waits(policy({ freeAttempts: 1, blockAfter: 1000, maxDelaySeconds: 64 }), 8)).toEqual([1, 2, 4, 8, 16, 32, 64, 64]);
    expect(waitSecondsAfter(999, long)).toBe(60);
    expect(waitSecondsAfter(1000, long)).toBe(900); // blockAfter: the block, longer than any wait
    expect(waitSecondsAfter(1_000_000, policy({ freeAttempts: 1, blockAfter: 10_000_000 }))).toBe(60); // 2^999999 is Infinity: still the cap
  });

  it('goes straight from free to the block when blockAfter equals freeAttempts', () => {
    expect(waits(policy({ freeAttempts: 3, blockAfter: 3 }), 5)).toEqual([0, 0, 900, 900, 900]);
  });

  it('makes the per-IP policy ipFactor times looser in attempts, not in waits or windows', () => {
    const { account, ip } = createSignInThrottle(DEFAULTS, undefined as never);
    expect(ip).toEqual({ ...account, freeAttempts: 50, blockAfter: 100 });
    expect(scaled(account, 1)).toEqual(account);
    expect(waitSecondsAfter(49, ip)).toBe(0);
    expect(waitSecondsAfter(50, ip)).toBe(1);
    expect(waitSecondsAfter(99, ip)).toBe(60);
    expect(waitSecondsAfter(100, ip)).toBe(900);
  });

  it('counts sign-in attempts in a window of an hour, or of the block if that is longer', () => {
    expect(createSignInThrottle(DEFAULTS, undefined as never).account).toMatchObject({ maxDelaySeconds: 60, windowSeconds: 3600 });
    expect(createSignInThrottle({ ...DEFAULTS, blockSeconds: 7200 }, undefined as never).account.windowSeconds).toBe(7200);
  });

  it('allows n registrations an hour with no wait between them, then none for the hour', () => {
    expect(waits(perHour(3), 5)).toEqual([0, 0, 3600, 3600, 3600]);
    expect(perHour(3).windowSeconds).toBe(3600);
  });

  it('makes device-code guesses wait from the 5th and blocks them for 15 minutes from the 20th (RFC 8628 §5.1)', () => {
    const guesses = waits(DEVICE_CODE_POLICY, 21);
    expect(guesses).toEqual([0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60, 60, 60, 60, 900, 900]);
    // Nineteen guesses take at least ten minutes of waiting before the block: about 20 a quarter hour.
    expect(guesses.slice(0, 19).reduce((a, b) => a + b, 0)).toBe(603);
  });
});

describe('what per-address limits count by (addressGroup)', () => {
  it('counts an IPv6 address by its /64, wherever in the /64 it is, and a neighbouring /64 apart', () => {
    const group = addressGroup('2001:db8:1:2::1');
    for (const same of ['2001:db8:1:2:8000::', '2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0000:0000:0000:0009'])
      expect(addressGroup(same), same).toBe(group);
    for (const other of ['2001:db8:1:1:ffff:ffff:ffff:ffff', '2001:db8:1:3::', '2001:db8:2:2::1']) expect(addressGroup(other), other).not.toBe(group);
  });

  it('keeps IPv4 whole, the same whether it came as IPv4 or IPv4-mapped IPv6', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:cb00:7107')).toBe('203.0.113.7');
    expect(addressGroup('203.0.113.8')).not.toBe(addressGroup('203.0.113.7'));
  });

  it('drops a zone id, and counts what it cannot parse as given', () => {
    expect(addressGroup('fe80::1%eth0')).toBe(addressGroup('fe80::2'));
    expect(addressGroup('unknown')).toBe('unknown');
    expect(addressGroup('')).toBe('');
  });
});

type Backend = {
  name: string;
  store: ShortLivedStore;
  /** The store's own clock (ms), which its holds and windows are on. */
  nowMs: () => Promise<number>;
  /** The key's hold is over, as if its wait had passed. */
  liftHold: (key: string) => Promise<void>;
  /** The key's window is over (and its hold): the next attempt starts a new count. */
  endWindow: (key: string) => Promise<void>;
  close: () => Promise<void>;
};

// The state each store keeps per key (short-lived-store.ts): Redis a hash { n, hold, window_end },
// Postgres a row whose value is "n hold window_end …". Only these helpers know that.
async function redisBackend(): Promise<Backend> {
  const { redis, cleanup } = createTestRedis();
  return {
    name: 'Redis',
    store: createRedisShortLivedStore(redis),
    nowMs: async () => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    },
    liftHold: async (key) => void (await redis.hset(`sl:${key}`, 'hold', 0)),
    endWindow: async (key) => void (await redis.hset(`sl:${key}`, 'hold', 0, 'window_end', 0)),
    close: cleanup,
  };
}

async function postgresBackend(): Promise<Backend> {
  const db = await createTestDatabase();
  const setFields = (hold: boolean, windowEnd: boolean) => (key: string) =>
    db
      .knex('short_lived_entries')
      .where({ key })
      .update({
        value: db.knex.raw(
          `concat_ws(' ', split_part(value, ' ', 1), ${hold ? "'0'" : "split_part(value, ' ', 2)"}, ${windowEnd ? "'0'" : "split_part(value, ' ', 3)"})`,
        ),
      })
      .then(() => undefined);
  return {
    name: 'Postgres',
    store: createPostgresShortLivedStore(db.knex),
    nowMs: async () =>
      Number((await db.knex.raw<{ rows: { now: string }[] }>('select (extract(epoch from clock_timestamp()) * 1000)::bigint as now')).rows[0]!.now),
    liftHold: setFields(true, false),
    endWindow: setFields(true, true),
    close: db.drop,
  };
}

const backends = [
  { name: 'Redis', make: redisBackend, enabled: Boolean(testRedisUrl) },
  { name: 'Postgres', make: postgresBackend, enabled: true },
];

for (const { name, make, enabled } of backends) {
  describe.runIf(enabled)(`the store applies the same arithmetic atomically (${name})`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(async () => {
      await b?.close();
    });

    /** One attempt, with the store's clock read on either side of it. */
    const take = async (key: string, p: ThrottlePolicy) => {
      const before = await b.nowMs();
      const decision = await b.store.takeAttempt(key, p);
      return { ...decision, before, after: await b.nowMs() };
    };
    /** The hold an allowed attempt set is its count's wait, to the millisecond of the store's clock. */
    const expectHeldFor = (d: Awaited<ReturnType<typeof take>>, seconds: number) => {
      if (seconds === 0) return expect(d.holdUntilMs).toBe(0);
      expect(d.holdUntilMs).toBeGreaterThanOrEqual(d.before + seconds * 1000);
      expect(d.holdUntilMs).toBeLessThanOrEqual(d.after + seconds * 1000);
    };

    it('holds a key after each counted attempt as long as waitSecondsAfter says: free, 1, 2, 4 … 60 s, then the block', async () => {
      const key = randomUUID();
      const p = policy({ freeAttempts: 2, blockAfter: 12 });
      const expected = [0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 900];
      expect(waits(p, 12)).toEqual(expected);
      for (const [i, seconds] of expected.entries()) {
        const d = await take(key, p);
        expect(d, `attempt ${i + 1}`).toMatchObject({ isAllowed: true, count: i + 1 });
        expectHeldFor(d, seconds);
        if (seconds > 0) {
          // Held: refused with the time left, and not counted.
          const early = await take(key, p);
          expect(early).toMatchObject({ isAllowed: false, count: i + 1, holdUntilMs: 0 });
          expect(early.retryAfterMs).toBeGreaterThan(0);
          expect(early.retryAfterMs).toBeLessThanOrEqual(seconds * 1000);
          expect(early.retryAfterMs).toBeGreaterThanOrEqual(d.holdUntilMs - early.after);
          await b.liftHold(key);
        }
      }
    });

    it('blocks again on the first attempt after a block, until the window ends; a new window starts free', async () => {
      const key = randomUUID();
      const p = policy({ freeAttempts: 3, blockAfter: 3, blockSeconds: 30 });
      for (let i = 0; i < 2; i += 1) expectHeldFor(await take(key, p), 0);
      expectHeldFor(await take(key, p), 30);
      await b.liftHold(key); // the block is over, but not the window
      const afterBlock = await take(key, p);
      expect(afterBlock).toMatchObject({ isAllowed: true, count: 4 });
      expectHeldFor(afterBlock, 30);
      await b.endWindow(key);
      const fresh = await take(key, p);
      expect(fresh).toMatchObject({ isAllowed: true, count: 1 });
      expectHeldFor(fresh, 0);
    });

    it('lets exactly n registrations an hour through from one address, then holds it for the hour', async () => {
      const key = randomUUID();
      for (const count of [1, 2, 3]) expect(await take(key, perHour(3))).toMatchObject({ isAllowed: true, count });
      const refused = await take(key, perHour(3));
      expect(refused.isAllowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(3_590_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    });
  });

  describe.runIf(enabled)(`sign-in and sign-up attempts per email and IP (${name})`, () => {
    let b: Backend;
    /** Every key the throttle touched, so that a test can let every wait pass. */
    const touched = new Set<string>();
    let store: ShortLivedStore;
    beforeAll(async () => {
      b = await make();
      store = {
        ...b.store,
        takeAttempt: (key, p) => {
          touched.add(key);
          return b.store.takeAttempt(key, p);
        },
      };
    });
    afterAll(async () => {
      await b?.close();
    });
    const waitOutEveryHold = async () => {
      for (const key of touched) await b.liftHold(key);
    };
    const attemptsWith = (settings: Partial<{ freeAttempts: number; blockAfter: number; blockSeconds: number; ipFactor: number }>) =>
      createSignInAttempts(createSignInThrottle({ freeAttempts: 2, blockAfter: 3, blockSeconds: 30, ipFactor: 100, ...settings }, store));
    // Each test its own emails and address, so that their counts never meet.
    const fresh = () => {
      const id = randomUUID();
      return { email: (n: number | string = '') => `user${n}-${id.slice(0, 8)}@example.test`, ip: `2001:db8:${id.slice(9, 13)}:${id.slice(14, 18)}::1` };
    };
    const allowed = (a: { isAllowed: boolean }) => a.isAllowed;

    it('refuses the attempt after the free failures, whatever the password, for a whole second at least', async () => {
      const attempts = attemptsWith({});
      const { email, ip } = fresh();
      expect(allowed(await attempts.login(email(), ip))).toBe(true);
      expect(allowed(await attempts.login(email(), ip))).toBe(true);
      const refused = await attempts.login(email(), ip); // refused before any password check
      expect(refused).toMatchObject({ isAllowed: false, retryAfterSeconds: 1 }); // ≤ 1000 ms left, rounded up
      await waitOutEveryHold();
      expect(allowed(await attempts.login(email(), ip))).toBe(true); // the third failure: the block
      const blocked = await attempts.login(email(), ip);
      expect(blocked.isAllowed).toBe(false);
      expect(blocked.retryAfterSeconds).toBeGreaterThan(28);
      expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(30);
    });

    it('counts an email however it is cased or padded', async () => {
      const attempts = attemptsWith({});
      const { email, ip } = fresh();
      await attempts.login(email().toUpperCase(), ip);
      await attempts.login(`  ${email()} `, ip);
      expect(allowed(await attempts.login(email(), ip))).toBe(false);
    });

    it("clears the email's count on success: its free attempts start again", async () => {
      const attempts = attemptsWith({});
      const { email, ip } = fresh();
      await attempts.login(email(), ip);
      await (await attempts.login(email(), ip)).succeeded(); // the second set a wait; the success clears it with the count
      expect(allowed(await attempts.login(email(), ip))).toBe(true);
      expect(allowed(await attempts.login(email(), ip))).toBe(true);
      expect(allowed(await attempts.login(email(), ip))).toBe(false);
    });

    it('does not count a successful sign-in for its IP, however many', async () => {
      const attempts = attemptsWith({ ipFactor: 1 }); // the IP as strict as an email: 2 free
      const { email, ip } = fresh();
      for (let i = 0; i < 5; i += 1) {
        const a = await attempts.login(email(i), ip);
        expect(a.isAllowed, `sign-in ${i + 1}`).toBe(true);
        await a.succeeded();
      }
    });

    it('gives an unchecked attempt (the server too busy) back to both the email and the IP', async () => {
      const attempts = attemptsWith({ ipFactor: 1 });
      const { email, ip } = fresh();
      for (let i = 0; i < 5; i += 1) {
        const a = await attempts.login(email(), ip);
        expect(a.isAllowed, `attempt ${i + 1}`).toBe(true);
        await a.unchecked();
      }
    });

    it('does not count an attempt the email refused against the IP, nor one the IP refused against the email', async () => {
      const attempts = attemptsWith({ ipFactor: 2 }); // per IP: 4 free
      const { email, ip } = fresh();
      for (let i = 0; i < 2; i += 1) await attempts.login(email('held'), ip); // the email now waits; the IP has 2
      for (let i = 0; i < 20; i += 1) expect(allowed(await attempts.login(email('held'), ip))).toBe(false);
      // The burst cost the IP nothing: its 3rd and 4th attempts go through (the 4th sets its wait).
      expect(allowed(await attempts.login(email('next'), ip))).toBe(true);
      expect(allowed(await attempts.login(email('after'), ip))).toBe(true);
      // The IP refuses attempts at a new email now …
      for (let i = 0; i < 5; i += 1) expect(allowed(await attempts.login(email('victim'), ip))).toBe(false);
      // … and gives them back to that email, which from another address still has its free attempts.
      const { ip: elsewhere } = fresh();
      expect(allowed(await attempts.login(email('victim'), elsewhere))).toBe(true);
      expect(allowed(await attempts.login(email('victim'), elsewhere))).toBe(true);
      expect(allowed(await attempts.login(email('victim'), elsewhere))).toBe(false);
    });

    it('makes an IP wait after failures spread over many emails, each below its own limit', async () => {
      const attempts = attemptsWith({ freeAttempts: 3, blockAfter: 5, ipFactor: 2 }); // per IP: 6 free
      const { email, ip } = fresh();
      for (let i = 0; i < 6; i += 1) expect(allowed(await attempts.login(email(i), ip)), `email ${i}`).toBe(true);
      expect(await attempts.login(email('fresh'), ip)).toMatchObject({ isAllowed: false, retryAfterSeconds: 1 });
    });

    it('counts every sign-up per IP, apart from its sign-ins, and gives back only unchecked ones', async () => {
      const attempts = attemptsWith({ freeAttempts: 3, blockAfter: 5, ipFactor: 2 }); // per IP: 6 free
      const { email, ip } = fresh();
      for (let i = 0; i < 5; i += 1) await attempts.login(email(i), ip); // sign-ins do not use up sign-ups
      await (await attempts.signup(ip)).unchecked();
      for (let i = 0; i < 6; i += 1) expect(allowed(await attempts.signup(ip)), `sign-up ${i + 1}`).toBe(true);
      expect(await attempts.signup(ip)).toMatchObject({ isAllowed: false, retryAfterSeconds: 1 });
    });

    it('lets only the allowance through of bursts at one email, over many emails, and of sign-ups', async () => {
      const attempts = attemptsWith({ freeAttempts: 3, blockAfter: 3, blockSeconds: 60, ipFactor: 4 }); // per IP: 12
      const { email, ip } = fresh();
      const one = await Promise.all(Array.from({ length: 120 }, () => attempts.login(email('target'), ip)));
      expect(one.filter(allowed)).toHaveLength(3);
      const sprayed = await Promise.all(Array.from({ length: 40 }, (_, i) => attempts.login(email(i), ip)));
      expect(sprayed.filter(allowed)).toHaveLength(9); // the IP's 12, less the 3 above (refusals cost nothing)
      const signups = await Promise.all(Array.from({ length: 130 }, () => attempts.signup(ip)));
      expect(signups.filter(allowed)).toHaveLength(12);
    });

    it('counts registrations per /64, so rotating addresses of one IPv6 customer do not reset it', async () => {
      const throttle = createAttemptThrottle({ store });
      const prefix = `2001:db8:${randomUUID().slice(0, 4)}:1::`;
      const register = (address: string) => throttle.take([{ scope: 'registration:ip', value: addressGroup(address), policy: perHour(3) }]);
      const answers = [];
      for (let i = 1; i <= 5; i += 1) answers.push((await register(`${prefix}${i.toString(16)}`)).isAllowed);
      expect(answers).toEqual([true, true, true, false, false]);
      expect((await register(`${prefix.replace(':1::', ':2::')}1`)).isAllowed).toBe(true); // another /64, another customer
    });

    it('answers every attempt when there is no throttle', async () => {
      const attempts = createSignInAttempts(undefined);
      for (let i = 0; i < 50; i += 1) expect(await attempts.login('anyone@example.test', '192.0.2.1')).toMatchObject({ isAllowed: true, retryAfterSeconds: 0 });
    });
  });
}

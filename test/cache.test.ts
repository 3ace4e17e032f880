import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCache } from '../src/cache/create-cache.ts';

/** A source of records that counts its reads and can be made to fail, as Postgres in an outage. */
function source() {
  const records = new Map<string, { v: number }>();
  let isDown = false;
  let reads = 0;
  return {
    records,
    reads: () => reads,
    down: (value: boolean) => (isDown = value),
    load: async (id: string) => {
      reads += 1;
      if (isDown) throw new Error('connect ECONNREFUSED');
      const r = records.get(id);
      return r && { ...r }; // a new object per read, as rows are
    },
  };
}

// The cache's own rules (pure logic over a loader): when it trusts what it holds, and what it
// serves when the loader fails. The same cache under a real Postgres outage: postgres-outage.test.ts.
describe('the record cache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('serves what it holds while trusted, and re-reads on every use while not', async () => {
    const s = source();
    s.records.set('a', { v: 1 });
    const cache = createCache({ ttlMs: 60_000, max: 10, load: s.load });
    await cache.get('a');
    await cache.get('a');
    expect(s.reads()).toBe(1);
    cache.setTrusted(false);
    s.records.set('a', { v: 2 });
    expect(await cache.get('a')).toEqual({ v: 2 });
    expect(await cache.get('a')).toEqual({ v: 2 });
    expect(s.reads()).toBe(3);
  });

  it('while not trusted and the source is down, serves the last value read, and fails for what it never read', async () => {
    const s = source();
    s.records.set('a', { v: 1 });
    const cache = createCache({ ttlMs: 60_000, max: 10, load: s.load });
    await cache.get('a');
    cache.setTrusted(false);
    s.down(true);
    expect(await cache.get('a')).toEqual({ v: 1 });
    await expect(cache.get('b')).rejects.toThrow('ECONNREFUSED');
  });

  it('after a failed re-read, does not try the source again for a second', async () => {
    vi.useFakeTimers();
    const s = source();
    s.records.set('a', { v: 1 });
    const cache = createCache({ ttlMs: 60_000, max: 10, load: s.load });
    await cache.get('a');
    cache.setTrusted(false);
    s.down(true);
    await cache.get('a');
    await cache.get('a');
    expect(s.reads()).toBe(2);
    vi.advanceTimersByTime(1_001);
    await cache.get('a');
    expect(s.reads()).toBe(3);
  });

  it('serves a fallback no longer than its TTL', async () => {
    const s = source();
    s.records.set('a', { v: 1 });
    const cache = createCache({ ttlMs: 200, max: 10, load: s.load });
    const readAt = performance.now();
    await cache.get('a');
    cache.setTrusted(false);
    s.down(true);
    expect(await cache.get('a')).toEqual({ v: 1 });
    // lru-cache keeps its own clock (performance.now, taken at import): real time, polled.
    await vi.waitFor(() => expect(cache.get('a')).rejects.toThrow('ECONNREFUSED'), { timeout: 2_000, interval: 20 });
    expect(performance.now() - readAt).toBeGreaterThanOrEqual(200);
  });

  it('once trusted again, re-reads what it read while untrusted: a change in between was not announced', async () => {
    const s = source();
    s.records.set('a', { v: 1 });
    const cache = createCache({ ttlMs: 60_000, max: 10, load: s.load });
    cache.setTrusted(false);
    expect(await cache.get('a')).toEqual({ v: 1 });
    s.records.set('a', { v: 2 }); // its notice is sent before anyone listens again
    cache.setTrusted(true);
    expect(await cache.get('a')).toEqual({ v: 2 });
  });

  it('does not keep a value whose read began before an invalidation', async () => {
    const s = source();
    s.records.set('a', { v: 1 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const cache = createCache({
      ttlMs: 60_000,
      max: 10,
      load: async (id) => {
        await gate;
        return s.load(id);
      },
    });
    const slow = cache.get('a');
    cache.invalidate('a');
    release();
    await slow;
    s.records.set('a', { v: 2 });
    expect(await cache.get('a')).toEqual({ v: 2 });
  });

  it('keeps a value whose read began before another record was invalidated, and none after invalidating all', async () => {
    const s = source();
    s.records.set('a', { v: 1 });
    let release!: () => void;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const cache = createCache({
      ttlMs: 60_000,
      max: 10,
      // Reads, then answers once released: what it answers was read before whatever happens meanwhile.
      load: async (id) => {
        const record = await s.load(id);
        await gate;
        return record;
      },
    });
    // A notice for another client arrives while this one's first read is under way.
    const first = cache.get('a');
    cache.invalidate('b');
    release();
    expect(await first).toEqual({ v: 1 });
    expect(await cache.get('a')).toEqual({ v: 1 });
    expect(s.reads()).toBe(1); // kept: served from the cache
    // In an outage it is there to serve (a lost fill would make this a failure).
    cache.setTrusted(false);
    s.down(true);
    expect(await cache.get('a')).toEqual({ v: 1 });

    s.down(false);
    cache.setTrusted(true);
    gate = new Promise<void>((resolve) => (release = resolve));
    cache.invalidate('a');
    const second = cache.get('a');
    cache.invalidate('*');
    s.records.set('a', { v: 2 });
    release();
    expect(await second).toEqual({ v: 1 });
    expect(await cache.get('a')).toEqual({ v: 2 });
  });
});

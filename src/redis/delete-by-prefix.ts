import { Redis } from 'ioredis';

/**
 * Deletes every key under a prefix (a test's or a benchmark's own), SCAN + UNLINK in batches.
 * ioredis applies keyPrefix to keys but not to SCAN patterns, so this uses a bare client.
 */
export async function deleteByPrefix(redisUrl: string, prefix: string): Promise<void> {
  const bare = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await bare.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await bare.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    bare.disconnect();
  }
}

/**
 * In CI the suite must run against real Postgres and Redis: refuse to start without them
 * rather than quietly fall back to the embedded database and skip the Redis tests.
 */
export default function setup(): void {
  if (process.env.CI && (!process.env.TEST_DATABASE_URL || !process.env.TEST_REDIS_URL)) {
    throw new Error('CI is set but TEST_DATABASE_URL and TEST_REDIS_URL are not: the suite would skip real-server tests');
  }
}

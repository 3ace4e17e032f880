/** Real servers when configured (CI always); otherwise embedded PGlite and no Redis. */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;
export const testRedisUrl = process.env.TEST_REDIS_URL || undefined;

export const uniqueName = (prefix: string) => `${prefix}${Math.random().toString(36).slice(2, 10)}`;

import { hasControlCharacters } from '../../validation/control-characters.ts';

// Identifiers reach SQL and Redis keys. Postgres rejects U+0000 in text with a driver error
// (a 500), and nothing legitimate is this long or holds control characters, so refuse early
// with a 4xx. See notes §13.
const MAX_ID_LENGTH = 512;

export function isPlausibleId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && !hasControlCharacters(id);
}

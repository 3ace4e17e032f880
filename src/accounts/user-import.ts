import type { Actor, AuditLog } from '../audit/audit-log.ts';
import { AppError } from '../errors/app-error.ts';
import { hasControlCharacters } from '../validation/control-characters.ts';
import type { AccountRepository } from './account-repository.ts';
import { isPlausibleEmail, normalizeEmail } from './account-service.ts';
import { hashProblem } from './imported-hashes.ts';

/** One problem of an import file, by line number (1-based). Never repeats a hash. */
export type ImportProblem = { line: number; problem: string };

/** The file was refused as a whole: nothing was imported. */
export class ImportRejected extends AppError {
  readonly problems: ImportProblem[];
  constructor(problems: ImportProblem[]) {
    super(
      'invalid_import',
      `nothing imported: ${problems.length} bad ${problems.length === 1 ? 'line' : 'lines'} (${problems
        .slice(0, 5)
        .map((p) => `line ${p.line}: ${p.problem}`)
        .join('; ')}${problems.length > 5 ? '; …' : ''})`,
    );
    this.problems = problems;
  }
}

const FIELDS = new Set(['email', 'name', 'email_verified', 'password_hash']);
const MAX_LINES = 1_000_000;

type Parsed = { line: number; email: string; emailVerified: boolean; name: string | null; passwordHash: string | null };

/** A field name as it may appear in a message: short, printable. */
const shown = (key: string) => JSON.stringify(key.replace(/[^\x20-\x7e]/g, '?').slice(0, 40));

/** One line of the file: the account, or why not. */
function parseLine(text: string, line: number): Parsed | ImportProblem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the input, which may hold a hash.
    return { line, problem: 'is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, problem: 'must be a JSON object' };
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !FIELDS.has(k));
  if (unknown !== undefined) return { line, problem: `has an unknown field ${shown(unknown)} (fields: email, name, email_verified, password_hash)` };
  if (typeof o.email !== 'string') return { line, problem: 'email is missing' };
  const email = normalizeEmail(o.email);
  if (!isPlausibleEmail(email)) return { line, problem: 'email is not a valid address' };
  if (o.name !== undefined && o.name !== null && (typeof o.name !== 'string' || o.name.length > 200 || hasControlCharacters(o.name))) {
    return { line, problem: 'name must be a string of at most 200 characters' };
  }
  if (o.email_verified !== undefined && typeof o.email_verified !== 'boolean') return { line, problem: 'email_verified must be true or false' };
  if (o.password_hash !== undefined && o.password_hash !== null && typeof o.password_hash !== 'string')
    return { line, problem: 'password_hash must be a string' };
  const passwordHash = (o.password_hash as string | null | undefined) ?? null;
  const why = passwordHash === null ? undefined : hashProblem(passwordHash);
  if (why) return { line, problem: `password_hash ${why}` };
  const emailVerified = o.email_verified === true;
  // Without either, nobody could ever sign in to it (no password, no address it holds).
  if (!passwordHash && !emailVerified)
    return { line, problem: 'needs a password_hash, or email_verified: true (the user can then set a password with send-reset)' };
  const name = typeof o.name === 'string' ? o.name.trim() || null : null;
  return { line, email, emailVerified, name, passwordHash };
}

/**
 * `users import --file users.jsonl`: one JSON object a line (`email`, `name`, `email_verified`,
 * `password_hash` as bcrypt, Django pbkdf2_sha256 or argon2 PHC). Every line is checked first
 * and every bad one reported by its number; then all accounts are inserted in one transaction,
 * so a file with any bad line (or an address that already has a holder) imports nothing.
 * Imported users sign in with their old password and are rehashed to argon2id then.
 */
export function createUserImport(deps: { repository: Pick<AccountRepository, 'insertAll'>; audit: Pick<AuditLog, 'record'> }) {
  return async (text: string, actor: Actor): Promise<{ imported: number; ids: string[] }> => {
    const problems: ImportProblem[] = [];
    const accounts: Parsed[] = [];
    const firstLineOf = new Map<string, number>();
    const lines = text.split('\n');
    if (lines.length > MAX_LINES) throw new AppError('invalid_import', `at most ${MAX_LINES} lines per file`);
    for (const [i, raw] of lines.entries()) {
      const body = raw.replace(/\r$/, '');
      if (!body.trim()) continue;
      const parsed = parseLine(body, i + 1);
      if ('problem' in parsed) {
        problems.push(parsed);
        continue;
      }
      const earlier = firstLineOf.get(parsed.email);
      if (earlier !== undefined) {
        problems.push({ line: parsed.line, problem: `email is also on line ${earlier}` });
        continue;
      }
      firstLineOf.set(parsed.email, parsed.line);
      accounts.push(parsed);
    }
    if (problems.length === 0 && accounts.length === 0) throw new AppError('invalid_import', 'the file has no users');
    if (problems.length) throw new ImportRejected(problems);

    const result = await deps.repository.insertAll(accounts);
    if ('conflicts' in result) {
      throw new ImportRejected(result.conflicts.map((index) => ({ line: accounts[index]!.line, problem: 'an account already holds this email address' })));
    }
    const via = { via: actor.via, ...(actor.clientId ? { by_client: actor.clientId } : {}) };
    for (const { index, id, released } of result.inserted) {
      await deps.audit.record({ type: 'user.created', accountId: id, ip: actor.ip, details: { ...via, imported: true, line: accounts[index]!.line } });
      for (const other of released) await deps.audit.record({ type: 'account.email_released', accountId: other, details: { to_account: id } });
    }
    await deps.audit.record({ type: 'users.imported', ip: actor.ip, details: { ...via, count: result.inserted.length } });
    return { imported: result.inserted.length, ids: result.inserted.map((r) => r.id) };
  };
}

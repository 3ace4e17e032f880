import type { Knex } from 'knex';

// oidc-provider entries used to be stored under their own value: a refresh token's row id *was*
// the refresh token (and its payload's jti too), so a database backup handed out working
// tokens. They are now stored under the SHA-256 of that value, without the jti
// (src/oidc/adapters/stored-entry.ts); this converts the rows written before. The digest is
// computed here exactly as the adapter computes it: lower-case hex of SHA-256 over the UTF-8 id.
// Only rows still in the old shape (jti = id) are touched, so the statement is safe to re-run.
// Left as they are: Clients, Grants and ReplayDetection (their ids are not credentials), and
// Interactions (their payload is sealed in code, not SQL; they live at most an hour and the
// adapter still reads the old shape until then). A DeviceCode keeps its jti (findByUserCode
// must return it).
export async function up(knex: Knex): Promise<void> {
  const digest = "encode(sha256(convert_to(id, 'UTF8')), 'hex')";
  await knex.raw(
    `update oidc_payloads set id = ${digest}, payload = payload - 'jti'
     where model not in ('Client', 'Grant', 'ReplayDetection', 'Interaction', 'DeviceCode') and payload->>'jti' = id`,
  );
  await knex.raw(`update oidc_payloads set id = ${digest} where model = 'DeviceCode' and payload->>'jti' = id`);
}

// A digest cannot be turned back into the token: going back means every stored token, code and
// session is lost (clients sign in again). Nothing to undo in the schema.
export async function down(): Promise<void> {}

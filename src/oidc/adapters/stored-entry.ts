import { createHash, hkdfSync } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import { openJson, sealJson } from '../../crypto/seal-json.ts';

/**
 * How an entry's id and payload are kept at rest. A refresh token, code, opaque access token,
 * session or interaction id *is* the credential (the row id, the Redis key, the cookie value),
 * so a backup or a Redis dump would hand out working tokens. Entries are therefore stored under
 * a digest of their id, as client secrets are:
 *
 * - plain SHA-256, not a keyed hash: every such id is ≥ 126 random bits (oidc-provider's nanoid),
 *   so no one can search for a preimage, and a key would add nothing but a dependency on
 *   GATEHOUSE_SECRET (the migration computes the same digest in SQL, without it);
 * - the payload's `jti` is the id again: it is dropped, and `find(id)` gives it back;
 * - an Interaction's payload also holds other entries' raw ids (the session cookie value, the
 *   PAR's id, its own uid in `returnTo`) and the client's parameters (an `id_token_hint`): it is
 *   sealed whole (AES-256-GCM) under a key derived from its own id, which only the browser
 *   holding the cookie knows. Nothing looks an Interaction up by anything but its id.
 *
 * Kept as they are: Clients (found by their public id), Grants (an id that is a reference, never
 * presented by anyone, and indexed as grant_id on every token) and ReplayDetection entries (their
 * id is already oidc-provider's SHA-256 of an issuer and a jti). A DeviceCode keeps its `jti`:
 * findByUserCode must return it, and a user code is too short to derive a key from (the device
 * flow is off; turning it on needs a server-keyed seal here).
 */
const KEPT_AS_IS = new Set(['Client', 'Grant', 'ReplayDetection']);
const KEEPS_JTI = new Set(['DeviceCode']);
const SEALED = new Set(['Interaction']);

const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** The id an entry is stored under (Postgres `id`, Redis key suffix, index members and pointers). */
export function storedId(model: string, id: string): string {
  return KEPT_AS_IS.has(model) ? id : sha256Hex(id);
}

/** Whether the model's entries may still exist under their raw id (stored before digests). */
export const hasLegacyEntries = (model: string) => !KEPT_AS_IS.has(model);

/**
 * An entry in the format before digests: stored under its raw id, with that id as its `jti`.
 * Current entries have no `jti` (or, DeviceCode, a jti that is not the digest they are stored
 * under), so a digest taken from a dump and presented as an id never matches one.
 */
export const isLegacyEntry = (id: string, stored: AdapterPayload | undefined): stored is AdapterPayload => stored?.jti === id;

const sealKey = (id: string) => Buffer.from(hkdfSync('sha256', id, 'gatehouse', 'gatehouse:sealed-entry', 32));
const sealAad = (model: string, id: string) => `${model}:${storedId(model, id)}`;

/** The payload as written: without the id, sealed where it holds other credentials. */
export function toStored(model: string, id: string, payload: AdapterPayload): AdapterPayload {
  if (KEPT_AS_IS.has(model)) return payload;
  const { jti: _jti, ...rest } = payload;
  const kept = KEEPS_JTI.has(model) ? payload : rest;
  if (SEALED.has(model)) return { sealed: sealJson(kept, sealKey(id), sealAad(model, id)) } as AdapterPayload;
  return kept;
}

/**
 * The payload oidc-provider wrote, from a stored one. `id` is undefined when the entry was found
 * by another key (a Session by its uid): its `jti` is then unknown and left out (oidc-provider
 * only compares such a Session's accountId and grants, it never saves it). Undefined when a
 * sealed payload does not open (not written for this id).
 */
export function fromStored(model: string, id: string | undefined, stored: AdapterPayload): AdapterPayload | undefined {
  if (KEPT_AS_IS.has(model) || (id !== undefined && isLegacyEntry(id, stored))) return stored;
  let payload = stored;
  if (SEALED.has(model)) {
    if (id === undefined || typeof stored.sealed !== 'string') return undefined;
    try {
      payload = openJson<AdapterPayload>(stored.sealed, sealKey(id), sealAad(model, id));
    } catch {
      return undefined;
    }
  }
  return id === undefined || KEEPS_JTI.has(model) ? payload : { ...payload, jti: id };
}

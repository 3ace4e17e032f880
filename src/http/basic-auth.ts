/** Client credentials from an HTTP Basic `Authorization` header. */
export type BasicCredentials = { clientId: string; clientSecret: string };

// RFC 9110 §11.3-§11.4: credentials = auth-scheme [ 1*SP token68 ]; the scheme is a
// case-insensitive token (§11.1), so `basic` and `BASIC` are Basic too (oidc-provider agrees).
const BASIC = /^basic +([A-Za-z0-9\-._~+/]+=*) *$/i;
// RFC 6749 Appendix A.1/A.2: client_id and client_secret are *VSCHAR (%x20-7E) once decoded.
const VSCHARS = /^[\x20-\x7e]*$/;

/** RFC 6749 §2.3.1: each part is application/x-www-form-urlencoded inside Basic ('+' is a space). */
function formDecode(part: string): string | undefined {
  try {
    const decoded = decodeURIComponent(part.replace(/\+/g, '%20'));
    return VSCHARS.test(decoded) ? decoded : undefined;
  } catch {
    return undefined; // a stray '%' is malformed, not a crash
  }
}

/**
 * The one HTTP Basic parser (RFC 7617 as profiled by RFC 6749 §2.3.1). Undefined when the header
 * is absent, names another scheme, or is malformed: no colon, an empty client id, bad encoding.
 * The client id is everything before the first colon (RFC 7617 §2: a user-id holds none); the
 * secret may contain colons.
 */
export function parseBasicAuth(header: string | undefined): BasicCredentials | undefined {
  const match = header ? BASIC.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (!clientId || clientSecret === undefined) return undefined;
  return { clientId, clientSecret };
}

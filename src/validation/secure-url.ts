/**
 * A URL codes, tokens or secrets may travel to: https, or plain http only on a loopback address
 * (tests, a local identity provider). RFC 9700 §2.6: they never cross the network in the clear.
 */
export function isSecureUrl(value: string): boolean {
  try {
    const url = new URL(value);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(url.hostname));
  } catch {
    return false;
  }
}

import { Provider, type Adapter, type AdapterPayload } from 'oidc-provider';

/**
 * What a stored Session carries besides oidc-provider's payload, for the account page's list of
 * browsers (src/oidc/account-access.ts): when the session was last used and which browser it is.
 * oidc-provider saves a signed-in session on every request that reads it (/auth, /session/end:
 * shared/session.js), so the time of the last save is the time of the last use. The browser is a
 * coarse label ("Firefox on Linux") taken from that request's User-Agent, never the header itself
 * (a fingerprint) nor the address. oidc-provider never sees either: it picks its own fields from
 * a payload (models/payload.js), and find() leaves them out anyway.
 */
export type SessionUse = { lastUsedAt?: number; browser?: string };

const USE_FIELDS = ['lastUsedAt', 'browser'] as const;

export function recordingSessionUse(adapter: Adapter, now: () => number = () => Math.floor(Date.now() / 1000)): Adapter {
  const upsert = adapter.upsert.bind(adapter);
  const find = adapter.find.bind(adapter);
  const findByUid = adapter.findByUid.bind(adapter);
  const withoutUse = (payload: AdapterPayload | undefined | void) => {
    if (!payload) return undefined;
    const copy = { ...payload };
    for (const f of USE_FIELDS) delete copy[f];
    return copy;
  };
  return Object.assign(Object.create(adapter) as Adapter, {
    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      // The engine's request context (AsyncLocalStorage): set while its router saves the session.
      const userAgent = Provider.ctx?.get('user-agent');
      const browser = userAgent ? browserLabel(userAgent) : undefined;
      await upsert(id, { ...payload, lastUsedAt: now(), ...(browser ? { browser } : {}) }, expiresIn);
    },
    find: async (id: string) => withoutUse(await find(id)),
    findByUid: async (uid: string) => withoutUse(await findByUid(uid)),
  });
}

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bWhale\//, 'Whale'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];
const SYSTEMS: [RegExp, string][] = [
  [/\biPhone\b|\biPad\b|\biPod\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** "Chrome on Windows", "Firefox", "Linux" … or undefined for a User-Agent we cannot name. */
export function browserLabel(userAgent: string): string | undefined {
  const ua = userAgent.slice(0, 512); // the client's to inflate; the names come early
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system;
}

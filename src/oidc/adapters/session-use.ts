import { type Adapter, type AdapterPayload, Provider } from 'oidc-provider';

/**
 * What a stored Session carries besides oidc-provider's payload, for the account page's list of
 * browsers (src/oidc/account-access.ts): when the session was last used and which browser it is.
 * oidc-provider saves a signed-in session on every request that reads it (/auth, /session/end:
 * shared/session.js), so the time of the last save is the time of the last use. The browser is a
 * coarse name (Firefox, Linux) taken from that request's User-Agent, never the header itself
 * (a fingerprint) nor the address. oidc-provider never sees either: it picks its own fields from
 * a payload (models/payload.js), and find() leaves them out anyway. The page words them ("Firefox
 * on Linux", "Linux의 Firefox").
 */
export type SessionUse = { lastUsedAt?: number; browser?: string; system?: string };

const USE_FIELDS = ['lastUsedAt', 'browser', 'system'] as const;

export function recordingSessionUse(adapter: Adapter, now: () => number = () => Math.floor(Date.now() / 1000)): Adapter {
  const upsert = adapter.upsert.bind(adapter);
  const find = adapter.find.bind(adapter);
  const findByUid = adapter.findByUid.bind(adapter);
  // biome-ignore lint/suspicious/noConfusingVoidType: oidc-provider's Adapter finders are typed to resolve to void too
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
      const names = userAgent ? browserOf(userAgent) : {};
      await upsert(id, { ...payload, lastUsedAt: now(), ...names }, expiresIn);
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
  [/(?:\b|Headless)Chrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
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

/** The browser's and the system's names (Chrome, Windows), each left out when the User-Agent does not say. */
export function browserOf(userAgent: string): { browser?: string; system?: string } {
  const ua = userAgent.slice(0, 512); // the client's to inflate; the names come early
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  return { ...(browser ? { browser } : {}), ...(system ? { system } : {}) };
}

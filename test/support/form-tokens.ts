/**
 * What a browser does without being told: a form on one of our pages is posted with its hidden
 * fields. Test agents remember each interaction's CSRF token from the pages they fetch and add it
 * to form posts to that interaction (unless the test gives `csrf` itself, or posts with `request`).
 */
export function createFormTokens() {
  const byInteraction = new Map<string, string>();
  return {
    async learn(res: Response): Promise<void> {
      if (!res.headers.get('content-type')?.startsWith('text/html')) return;
      const body = await res.clone().text();
      const uid = /action="\/interaction\/([^/"?]+)\//.exec(body)?.[1];
      const token = /name="csrf" value="([^"]+)"/.exec(body)?.[1];
      if (uid && token) byInteraction.set(uid, token);
    },
    fill(url: string, fields: Record<string, string>): Record<string, string> {
      const uid = /^\/interaction\/([^/]+)\//.exec(new URL(url).pathname)?.[1];
      const token = uid === undefined ? undefined : byInteraction.get(uid);
      return token === undefined || 'csrf' in fields ? fields : { ...fields, csrf: token };
    },
  };
}

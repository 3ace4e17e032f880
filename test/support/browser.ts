import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (installed by .ci/run), headless, with nothing phoning home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A client's redirect_uri: records every callback URL and answers with a plain page. */
export async function startCallbackServer() {
  const received: URL[] = [];
  const server = createServer((req, res) => {
    received.push(new URL(req.url!, `http://${req.headers.host}`));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
    res.end('<!doctype html><title>callback</title><p>Back at the application.</p>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return { url, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * Another site, for cross-site tests: served on 127.0.0.1 but visited as http://localhost:<port>,
 * a different site from Gatehouse's http://127.0.0.1 for the browser's SameSite rules. It plays
 * an application (its /callback and /signed-out record what arrives) and an attacker: /post
 * renders a form that submits itself, with script, to any URL (`postPage`).
 */
export async function startOtherSite() {
  const received: URL[] = [];
  const escapeHtml = (v: string) => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createServer((req, res) => {
    const url = new URL(req.url!, `http://${req.headers.host}`);
    if (url.pathname === '/post') {
      const fields = [...url.searchParams].filter(([name]) => name !== 'to');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>another site</title><form id="f" method="post" action="${escapeHtml(url.searchParams.get('to')!)}">${fields
          .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
          .join('')}</form><script>document.getElementById('f').submit()</script>`,
      );
      return;
    }
    received.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" });
    res.end('<!doctype html><title>application</title><p>Back at the application.</p>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    callbackUrl: `${origin}/callback`,
    signedOutUrl: `${origin}/signed-out`,
    received,
    /** A page of this site that posts `fields` to `to` as soon as it loads. */
    postPage: (to: string, fields: Record<string, string>) => `${origin}/post?${new URLSearchParams({ to, ...fields })}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Everything the browser complains about on our pages: console errors (CSP violations are
 * reported there), uncaught page errors, and documents served without the strict CSP.
 */
export function watchForProblems(page: Page, issuer: string): string[] {
  const problems: string[] = [];
  const documents = new Set<string>();
  page.on('request', (r) => r.resourceType() === 'document' && documents.add(r.url()));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // A page served with a 4xx status (a refused form, an expired interaction) is logged as a
    // failed load of the document itself; that is the page working as intended.
    if (m.text().startsWith('Failed to load resource') && documents.has(m.location().url)) return;
    problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' || !r.url().startsWith(issuer) || (r.status() >= 300 && r.status() < 400)) return;
    const csp = r.headers()['content-security-policy'] ?? '';
    if (!csp.includes("default-src 'none'") || csp.includes('unsafe-inline')) problems.push(`weak CSP on ${r.url()}: ${csp}`);
  });
  return problems;
}

const DESKTOP = { width: 800, height: 720 };
const PHONE = { width: 390, height: 844 };
export const desktopViewport = DESKTOP;

/**
 * Screenshots the page at desktop and phone width (docs/screenshots/ when UPDATE_SCREENSHOTS=1,
 * a temporary directory otherwise), and checks that the phone width needs no sideways scrolling.
 */
export function createScreenshotter() {
  const dir = process.env.UPDATE_SCREENSHOTS ? join(process.cwd(), 'docs', 'screenshots') : join(tmpdir(), 'gatehouse-screenshots');
  mkdirSync(dir, { recursive: true });
  return async (page: Page, name: string): Promise<{ phoneScrollWidth: number }> => {
    await page.screenshot({ path: join(dir, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    const phoneScrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.screenshot({ path: join(dir, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
    return { phoneScrollWidth };
  };
}

/** WCAG 2.2 contrast ratio of each matched element's text against its nearest opaque background. */
export function contrastRatios(page: Page, selectors: string[]): Promise<{ selector: string; ratio: number }[]> {
  return page.evaluate((list) => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) => {
      const [R, G, B] = [r!, g!, b!].map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
      return 0.2126 * R! + 0.7152 * G! + 0.0722 * B!;
    };
    const background = (el: Element | null): number[] => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length === 3 || c[3] === 1) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    return list.flatMap((selector) =>
      [...document.querySelectorAll(selector)].map((el) => {
        const [a, b] = [luminance(rgb(getComputedStyle(el).color)), luminance(background(el))];
        return { selector, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
      }),
    );
  }, selectors);
}

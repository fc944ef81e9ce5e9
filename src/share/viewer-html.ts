/**
 * The viewer page: one HTML document holding the viewer's script (src/viewer/, bundled by
 * scripts/bundle.mjs into dist/viewer-bundle/viewer.js) and its data, with nothing to fetch, so
 * it opens from disk with no network.
 *
 * Recorded traffic is hostile input. The data goes into a `<script type="application/json">`
 * element, which the browser never runs, as JSON with every `<` written `\u003c`: the element's
 * text can then hold no `</script>` (nor `<!--`), so no payload can end it early, and JSON.parse
 * gives the `<` back. The page's Content-Security-Policy allows exactly one script, by its hash,
 * and no network (`connect-src 'none'`; the live viewer allows its own origin), so even markup
 * that reached the DOM could not run or send anything. The viewer itself only ever writes
 * payloads as text (textContent), never as HTML.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliError } from '../errors.js';
import type { ViewerBoot } from '../viewer/model.js';

/** Where the bundle is, from dist/share/ and dist/bundle/ (one level down) or src/share/ (tests). */
const BUNDLE_CANDIDATES = [new URL('../viewer-bundle/viewer.js', import.meta.url), new URL('../../dist/viewer-bundle/viewer.js', import.meta.url)];

let cached: string | null = null;

/** The viewer's bundled script. Throws ERR_FILE when the package was not built. */
function viewerScript(): string {
  if (cached !== null) return cached;
  const url = BUNDLE_CANDIDATES.find((candidate) => existsSync(candidate));
  if (url === undefined) throw cliError('ERR_FILE', 'the viewer is not built (dist/viewer-bundle/viewer.js is missing): run npm run build');
  // `</script` cannot occur in an inline script; `<\/script` means the same in a JS string, regex or comment.
  cached = readFileSync(fileURLToPath(url), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  return cached;
}

/** JSON that can sit inside a <script> element: no `<` (so no `</script>`, no `<!--`). */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Text for an HTML text node or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export interface PageOptions {
  title: string;
  /** The live viewer fetches from its own origin; an export fetches nothing. */
  live: boolean;
}

/**
 * The page as one string. `boot` is embedded as JSON; for a large export, the caller writes the
 * pieces of `pageParts` instead, so the JSON is never copied into a second string.
 */
export function renderPage(boot: ViewerBoot, options: PageOptions): string {
  const { head, tail } = pageParts(options);
  return head + scriptSafeJson(boot) + tail;
}

/** The page before and after the embedded JSON. */
export function pageParts(options: PageOptions): { head: string; tail: string } {
  const script = viewerScript();
  const hash = createHash('sha256').update(script, 'utf8').digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    `connect-src ${options.live ? "'self'" : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const head =
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<meta name="referrer" content="no-referrer">\n' +
    `<title>${escapeHtml(options.title)}</title>\n</head>\n<body>\n` +
    '<noscript>This wstape viewer needs JavaScript.</noscript>\n' +
    '<script id="wstape-data" type="application/json">';
  const tail = `</script>\n<script>${script}</script>\n</body>\n</html>\n`;
  return { head, tail };
}

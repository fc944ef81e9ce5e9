/**
 * The viewer page's wrapping of hostile data, without a browser: the embedded JSON never holds a
 * `<` (so no `</script>` or `<!--` can end its element), gives back exactly what went in, and the
 * page's Content-Security-Policy allows exactly the one script it inlines, by hash.
 * The browser tests (test/viewer/) check the same from the page's side.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, renderPage, scriptSafeJson } from '../../src/share/viewer-html.js';

describe('scriptSafeJson', () => {
  it.each(['</script><script>alert(1)</script>', '<!-- <script>', '</SCRIPT >', '\u2028\u2029', '<img src=x onerror=alert(1)>'])(
    'hides %j from the HTML parser and keeps it',
    (text) => {
      const json = scriptSafeJson({ text });
      expect(json).not.toMatch(/[<\u2028\u2029]/);
      expect(JSON.parse(json)).toEqual({ text });
    },
  );

  it('round-trips any string and never emits a <', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const json = scriptSafeJson([text]);
        expect(json.includes('<')).toBe(false);
        expect(JSON.parse(json)).toEqual([text]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('renderPage', () => {
  const page = renderPage({ mode: 'live', token: 't', source: '<b>name</b>' }, { title: 'wstape: <b>name</b>', live: false });

  it('allows its inline script by hash, no other script, and no network for an export', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1] ?? '';
    const script = /<script>([\s\S]*)<\/script>\n<\/body>/.exec(page)?.[1] ?? '';
    expect(script.length).toBeGreaterThan(1000);
    expect(script).not.toMatch(/<\/script/i);
    expect(csp).toContain(`script-src 'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`);
    expect(csp).toContain("connect-src 'none'");
    expect(csp).toContain("default-src 'none'");
  });

  it('escapes the title, and holds exactly two script elements', () => {
    expect(page).toContain('<title>wstape: &#60;b&#62;name&#60;/b&#62;</title>');
    expect(page.match(/<script/g)).toHaveLength(2);
    expect(escapeHtml(`&<>"'`)).toBe('&#38;&#60;&#62;&#34;&#39;');
  });
});

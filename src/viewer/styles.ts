/**
 * The viewer's stylesheet, injected by main.ts as a <style> element (the page's CSP allows inline
 * styles, and nothing is fetched). System fonts only: no web font, no network.
 */
export const ROW_HEIGHT = 22;

export const STYLES = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1d1f21; --dim: #6a737d; --line: #d0d7de; --sel: #ddeeff; --head: #f6f8fa;
  --out: #1a7f37; --in: #0969da; --warn: #9a6700; --bad: #cf222e; --key: #8250df; --str: #0a3069; --num: #0550ae; --lit: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --dim: #8b949e; --line: #30363d; --sel: #1f3a5f; --head: #161b22;
  --out: #3fb950; --in: #58a6ff; --warn: #d29922; --bad: #f85149; --key: #d2a8ff; --str: #a5d6ff; --num: #79c0ff; --lit: #ff7b72; } }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); color: var(--fg); font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
.mono, .vrow, pre, input.mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
#app { display: grid; grid-template-rows: auto 1fr; height: 100vh; }
header { display: flex; gap: 12px; align-items: center; padding: 6px 10px; border-bottom: 1px solid var(--line); background: var(--head); flex-wrap: wrap; }
header h1 { font-size: 14px; margin: 0; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px; font-weight: 600; border: 1px solid var(--line); }
.badge.redacted { color: var(--warn); border-color: var(--warn); }
.badge.live { color: var(--out); border-color: var(--out); }
.badge.ended { color: var(--dim); }
.badge.k-WS, .badge.k-WSS { color: var(--in); border-color: var(--in); }
.badge.k-HTTP, .badge.k-HTTPS { color: var(--dim); }
.badge.k-TUNNEL { color: var(--warn); }
main { display: grid; grid-template-columns: minmax(320px, 38%) 1fr; min-height: 0; }
.pane { display: flex; flex-direction: column; min-height: 0; min-width: 0; border-right: 1px solid var(--line); }
.bar { display: flex; gap: 6px; padding: 4px 6px; align-items: center; flex-wrap: wrap; border-bottom: 1px solid var(--line); background: var(--head); }
.bar input[type=text], .bar input[type=search] { width: 9em; }
.bar input.wide { width: 14em; }
.bar label { white-space: nowrap; }
.viewport { flex: 1; overflow: auto; position: relative; min-height: 60px; }
.vspacer { position: relative; }
.vrows { position: absolute; left: 0; right: 0; top: 0; }
.vrow { position: absolute; left: 0; right: 0; height: ${ROW_HEIGHT}px; line-height: ${ROW_HEIGHT}px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 0 6px; cursor: pointer; border-bottom: 1px solid transparent; }
.vrow:hover { background: var(--head); }
.vrow.selected { background: var(--sel); }
.vrow > span { margin-right: 8px; }
.dim { color: var(--dim); }
.arrow.dir-out { color: var(--out); font-weight: 700; }
.arrow.dir-in { color: var(--in); font-weight: 700; }
.ftype { display: inline-block; min-width: 5.5em; }
.ftype.t-close { color: var(--warn); }
.ftype.t-ping, .ftype.t-pong { color: var(--dim); }
.fsize { display: inline-block; min-width: 7em; text-align: right; color: var(--dim); }
.marker { font-size: 11px; }
.m-warn { color: var(--warn); } .m-anomaly { color: var(--bad); } .m-info { color: var(--dim); } .m-action { color: var(--key); }
.status-bad { color: var(--bad); } .status-warn { color: var(--warn); } .status-ok { color: var(--out); }
#conn { display: grid; grid-template-rows: auto auto auto 1fr minmax(140px, 32%); min-height: 0; }
#conn-summary { padding: 6px 10px; border-bottom: 1px solid var(--line); max-height: 28vh; overflow: auto; }
.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(290px, 1fr)); gap: 0 16px; font-size: 12px; }
.stat-name { color: var(--dim); }
#conn-summary details summary { cursor: pointer; color: var(--dim); }
#conn-summary table { border-collapse: collapse; font-size: 12px; }
#conn-summary td, #conn-summary th { padding: 1px 8px 1px 0; text-align: left; vertical-align: top; }
.diagnosis { margin: 4px 0; }
#detail { overflow: auto; border-top: 1px solid var(--line); padding: 6px 10px; }
.detail-head { margin-bottom: 4px; }
.detected .det-id { font-weight: 600; color: var(--key); }
pre { margin: 4px 0; white-space: pre-wrap; word-break: break-all; }
pre.hexdump { white-space: pre; word-break: normal; }
.json-tree { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; margin: 4px 0; }
.j-body { padding-left: 1.5em; }
.j-fold > summary { display: inline; cursor: pointer; list-style: none; }
.j-fold > summary::before { content: "▾ "; color: var(--dim); }
.j-fold:not([open]) > summary::before { content: "▸ "; }
.j-fold:not([open]) > summary::after { content: "…"; }
.j-fold { display: inline; }
.j-fold[open] > summary > .j-count { display: none; }
.j-count { color: var(--dim); font-style: italic; }
.j-key { color: var(--key); } .j-str { color: var(--str); } .j-num { color: var(--num); } .j-lit { color: var(--lit); } .j-punct { color: var(--dim); }
.payload-image { max-width: 100%; max-height: 240px; image-rendering: pixelated; border: 1px solid var(--line); min-width: 16px; min-height: 16px; }
.note { color: var(--warn); margin: 4px 0; }
.error-text { color: var(--bad); }
.empty { padding: 20px; color: var(--dim); }
button { font: inherit; }
kbd { border: 1px solid var(--line); border-radius: 3px; padding: 0 3px; font-size: 11px; }
`;

// The report's only stylesheet, inlined. Class names avoid Vega's (background, marks, role-*, mark-*).
export const reportCss = `
:root { --pass: #1a7f37; --fail: #cf222e; --inconclusive: #9a6700; --error: #8250df; --ink: #1d232b; --muted: #57606a;
  --line: #d8dee4; --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: var(--ink); background: #eef1f4; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; word-break: break-word; }
h3 { font-size: 15px; margin: 22px 0 8px; color: #2b313a; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; margin: 6px 0; max-height: 480px; overflow-y: auto; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; margin: 18px 0; box-shadow: 0 1px 2px rgba(31,35,40,.06); }
.run-head { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; }
.run-head .sub { color: var(--muted); }
.tally { display: flex; gap: 10px; flex-wrap: wrap; margin: 14px 0 4px; }
.tally .count { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 110px; background: var(--soft); }
.tally .count b { display: block; font-size: 22px; line-height: 1.2; }
.tally .count.is-pass b { color: var(--pass); } .tally .count.is-fail b { color: var(--fail); }
.tally .count.is-inconclusive b { color: var(--inconclusive); } .tally .count.is-error b { color: var(--error); }
.tally .count.is-interrupted b { color: var(--inconclusive); } .tally .count.is-skipped b { color: var(--muted); }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 700; letter-spacing: .02em; color: #fff; text-transform: uppercase; white-space: nowrap; }
.badge.is-pass { background: var(--pass); } .badge.is-fail { background: var(--fail); }
.badge.is-inconclusive { background: var(--inconclusive); } .badge.is-error { background: var(--error); }
.badge.is-interrupted { background: var(--inconclusive); } .badge.is-skipped { background: var(--muted); }
table.grid { border-collapse: collapse; width: 100%; margin: 6px 0; }
table.grid th, table.grid td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.grid th { background: var(--soft); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
table.grid td.num, table.grid th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.grid tr.is-fail td:first-child { box-shadow: inset 3px 0 var(--fail); } table.grid tr.is-error td:first-child { box-shadow: inset 3px 0 var(--error); }
table.grid tr.is-inconclusive td:first-child { box-shadow: inset 3px 0 var(--inconclusive); } table.grid tr.is-pass td:first-child { box-shadow: inset 3px 0 var(--pass); }
table.grid tr.is-interrupted td:first-child { box-shadow: inset 3px 0 var(--inconclusive); } table.grid tr.is-skipped td:first-child { box-shadow: inset 3px 0 var(--muted); }
.exp-head { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 14px; border-bottom: 1px solid var(--line); padding-bottom: 10px; margin-bottom: 10px; }
.exp-head .meta { color: var(--muted); font-size: 13px; }
.exp-head .top { margin-left: auto; font-size: 12px; }
.description { margin: 6px 0 8px; font-size: 15px; }
.tags { list-style: none; padding: 0; margin: 4px 0; display: flex; gap: 6px; flex-wrap: wrap; }
.tags li { background: #ddf4ff; color: #0a3069; border-radius: 999px; padding: 0 9px; font-size: 12px; }
.sweep-point { background: #fff8c5; color: #4d2d00; border-radius: 6px; padding: 1px 8px; font-size: 12px; }
.alert { border-radius: 8px; padding: 10px 14px; margin: 10px 0; border: 1px solid; }
.alert.is-error { background: #fbefff; border-color: #d8b9ff; }
.alert.is-warning { background: #fff8c5; border-color: #e6d58a; }
.verdicts { display: grid; gap: 10px; }
.verdict { border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 8px; padding: 10px 14px; background: #fff; }
.verdict.is-pass { border-left-color: var(--pass); } .verdict.is-fail { border-left-color: var(--fail); } .verdict.is-inconclusive { border-left-color: var(--inconclusive); }
.verdict .title { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; font-weight: 600; }
.verdict .title .kind { color: var(--muted); font-weight: 400; font-size: 12px; }
.verdict .why { margin: 6px 0 4px; }
.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 4px 18px; margin: 6px 0 0; }
.stats div { min-width: 0; }
.stats dt { font-size: 11px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
.stats dd { margin: 0; font-variant-numeric: tabular-nums; word-break: break-word; }
table.categories { border-collapse: collapse; margin-top: 6px; font-variant-numeric: tabular-nums; }
table.categories th, table.categories td { padding: 2px 14px 2px 0; text-align: left; font-size: 13px; }
table.categories th { color: var(--muted); font-weight: 600; font-size: 11px; text-transform: uppercase; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 8px; background: #fff; max-width: 100%; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; }
figcaption b { color: var(--ink); }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 0 28px; }
.cols > div { min-width: 0; }
table.grid td { overflow-wrap: anywhere; }
table.grid td.mono { white-space: pre-wrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
details { margin: 8px 0; border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; background: #fff; }
details > summary { cursor: pointer; font-weight: 600; padding: 2px 0; }
.experiment > details.experiment-body { border: 0; padding: 0; margin: 0; }
.experiment > details.experiment-body > summary { list-style: none; }
.experiment > details.experiment-body > summary::-webkit-details-marker { display: none; }
.experiment > details.experiment-body > summary::before { content: "▸"; color: var(--muted); margin-right: 2px; }
.experiment > details.experiment-body[open] > summary::before { content: "▾"; }
.experiment > details.experiment-body:not([open]) > summary.exp-head { border-bottom: 0; padding-bottom: 0; margin-bottom: 0; }
.experiment { padding-top: 12px; padding-bottom: 12px; }
table.counters tr.group td { background: var(--soft); font-weight: 600; }
.filter { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 10px 0; }
.filter input { position: absolute; opacity: 0; pointer-events: none; }
.filter label { border: 1px solid var(--line); border-radius: 999px; padding: 2px 12px; background: #fff; cursor: pointer; }
.filter input:checked + label { background: var(--ink); color: #fff; border-color: var(--ink); }
.filter input:focus-visible + label { outline: 2px solid var(--accent); }
body:has(#show-problems:checked) .filterable.is-pass, body:has(#show-problems:checked) .filterable.is-skipped { display: none; }
${['pass', 'fail', 'inconclusive', 'error', 'interrupted', 'skipped'].map((o) => `body:has(#show-${o}:checked) .filterable:not(.is-${o}) { display: none; }`).join('\n')}
details[open] > summary { margin-bottom: 6px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { border: 1px solid var(--line); background: var(--soft); border-radius: 6px; padding: 0 8px; font-size: 12.5px; font-variant-numeric: tabular-nums; }
.sample { border-top: 1px dashed var(--line); padding-top: 6px; margin-top: 6px; }
.muted { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 30px; }
@media print { body { background: #fff; } .card { box-shadow: none; break-inside: avoid; } details { break-inside: avoid; } }
`;

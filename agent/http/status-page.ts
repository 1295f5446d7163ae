import type { TargetState } from '../scheduler.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface StatusPageModel {
  site: { id: string; name: string };
  ready: boolean;
  targets: TargetState[];
  unavailable: Array<{ kind: string; why: string }>;
}

/** The small human page at `/`: each target with its last result. No external assets. */
export function renderStatusPage(model: StatusPageModel): string {
  const rows = model.targets
    .map((state) => {
      const { target, module } = state.plan;
      const last = state.lastResult;
      const result = last === undefined ? 'pending' : last.ok ? `ok, ${(last.durationSeconds * 1000).toFixed(3)} ms` : `${last.reason}: ${last.detail}`;
      const loss = state.attempts > 0 ? `${((state.failures / state.attempts) * 100).toFixed(1)}%` : '-';
      const labels = Object.entries(target.labels).map(([k, v]) => `${k}=${v}`).join(', ');
      return `<tr class="${last === undefined ? 'pending' : last.ok ? 'ok' : 'fail'}"><td>${escapeHtml(target.name)}</td><td>${module.kind}</td><td>${escapeHtml(target.url ?? `${target.host ?? ''}${target.port ? `:${target.port}` : ''}`)}</td><td>${escapeHtml(labels)}</td><td>${escapeHtml(result)}</td><td>${loss}</td><td>${state.lastSuccessAt?.toISOString() ?? 'never'}</td></tr>`;
    })
    .join('\n');
  const warnings = model.unavailable.map((u) => `<p class="fail">${escapeHtml(u.kind)} probes unavailable: ${escapeHtml(u.why)}</p>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>linkmon ${escapeHtml(model.site.id)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ccc;text-align:left}.ok td:nth-child(5){color:#1a7f37}.fail,.fail td:nth-child(5){color:#cf222e}.pending{color:#777}</style>
</head><body>
<h1>linkmon: ${escapeHtml(model.site.name)} (${escapeHtml(model.site.id)})</h1>
<p>${model.ready ? 'Ready' : 'Starting: first probe cycle not complete'}. <a href="/metrics">Metrics</a> · <a href="/healthz">Health</a> · <a href="/-/ready">Readiness</a></p>
${warnings}
<table><thead><tr><th>Target</th><th>Kind</th><th>Address</th><th>Labels</th><th>Last result</th><th>Loss since start</th><th>Last success</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}

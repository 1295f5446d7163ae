import type { ComponentTargetStatus } from '../component.js';
import type { TargetState } from '../scheduler.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface StatusPageModel {
  site: { id: string; name: string };
  ready: boolean;
  /** Interval targets, from the probe scheduler. */
  targets: TargetState[];
  /** Targets that components run on their own clock (throughput tests). */
  componentTargets: ComponentTargetStatus[];
  unavailable: Array<{ kind: string; why: string }>;
}

/** A table row: what a component reports for its targets, and the same built from the scheduler's state. */
type Row = Omit<ComponentTargetStatus, 'nextRunAt'> & { loss: string; next: string };

/** The small human page at `/`: every target with its last result and when it runs next. No external assets. */
export function renderStatusPage(model: StatusPageModel): string {
  const rows = [...model.targets.map(intervalRow), ...model.componentTargets.map(componentRow)]
    .map(
      (row) =>
        `<tr class="${row.state}"><td>${escapeHtml(row.target)}</td><td>${escapeHtml(row.kind)}</td><td>${escapeHtml(row.address)}</td><td>${escapeHtml(
          Object.entries(row.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
        )}</td><td>${escapeHtml(row.lastResult)}</td><td>${row.loss}</td><td>${row.lastSuccessAt?.toISOString() ?? 'never'}</td><td>${escapeHtml(row.next)}</td></tr>`,
    )
    .join('\n');
  const warnings = model.unavailable.map((u) => `<p class="fail">${escapeHtml(u.kind)} probes unavailable: ${escapeHtml(u.why)}</p>`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>linkmon · ${escapeHtml(model.site.name)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ccc;text-align:left}.ok td:nth-child(5){color:#1a7f37}.fail,.fail td:nth-child(5){color:#cf222e}.pending{color:#777}</style>
</head><body>
<h1>${escapeHtml(model.site.name)}</h1>
<p>linkmon agent, site id <code>${escapeHtml(model.site.id)}</code>. ${model.ready ? 'Ready' : 'Starting: first probe cycle not complete'}. <a href="/metrics">Metrics</a> · <a href="/healthz">Health</a> · <a href="/-/ready">Readiness</a></p>
${warnings}
<table><thead><tr><th>Target</th><th>Kind</th><th>Address</th><th>Labels</th><th>Last result</th><th>Loss since start</th><th>Last success</th><th>Runs</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}

function intervalRow(state: TargetState): Row {
  const { target, module } = state.plan;
  const last = state.lastResult;
  return {
    target: target.name,
    kind: module.kind,
    address: target.url ?? `${target.host ?? ''}${target.port ? `:${target.port}` : ''}`,
    labels: target.labels,
    state: last === undefined ? 'pending' : last.ok ? 'ok' : 'fail',
    lastResult: last === undefined ? 'pending' : last.ok ? `ok, ${(last.durationSeconds * 1000).toFixed(3)} ms` : `${last.reason}: ${last.detail}`,
    loss: state.attempts > 0 ? `${((state.failures / state.attempts) * 100).toFixed(1)}%` : '-',
    ...(state.lastSuccessAt ? { lastSuccessAt: state.lastSuccessAt } : {}),
    next: `every ${module.interval}s`,
  };
}

function componentRow(status: ComponentTargetStatus): Row {
  return { ...status, loss: '-', next: status.nextRunAt ? `next ${status.nextRunAt.toISOString()}` : '-' };
}

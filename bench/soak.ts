/**
 * Soak (issue #13): the fault lab's agent (every probe kind, SNMP, throughput every 10 s against a
 * real responder; test/e2e/fault-lab.ts) for 30 minutes, reloaded every minute. RSS, heap, handles,
 * file descriptors and event-loop delay every 30 s. Prometheus is away for 10 minutes (minutes 5-15)
 * and must find the counters continued; at minute 20 a round of faults (blackhole, refusing target,
 * DNS down, SNMP gone, link flapping). The suite runs a 2-minute version (test/e2e/fault-matrix.root.test.ts).
 * Run as root: npx tsx bench/soak.ts [--minutes 30]. Writes bench/results/soak.json and .md.
 */
import { sumSamples } from '../test/support/exposition.js';
import { startFaultLab, TARGETS, type ResourceSample } from '../test/e2e/fault-lab.js';
import { machineNote, sleep, writeResults } from './icmp-bench-support.js';

const minutesArg = process.argv.indexOf('--minutes');
const MINUTES = minutesArg > 0 ? Number(process.argv[minutesArg + 1]) : 30;
const SAMPLE_EVERY_S = 30;
const RELOAD_EVERY_S = 60;
const PROMETHEUS_AWAY = { fromMinute: MINUTES / 6, forMinutes: MINUTES / 3 };
const FAULTS_AT_MINUTE = (MINUTES * 2) / 3;

const machineAtStart = machineNote();
const lab = await startFaultLab();
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
const samples: (ResourceSample & { t: number })[] = [];
let reloads = 0;
let failedScrapes = 0;
let gap: { before: number; after: number; to: number } | undefined;
try {
  const end = started + MINUTES * 60_000;
  let nextSample = 0;
  let nextReload = RELOAD_EVERY_S;
  let awayState: 'before' | 'away' | 'back' = 'before';
  let faultsDone = false;
  while (Date.now() < end) {
    const t = elapsed();
    if (t >= nextSample) {
      try {
        samples.push({ t: Math.round(t), ...(await lab.resources()) });
        const s = samples.at(-1)!;
        console.log(`${(t / 60).toFixed(1)} min: rss ${(s.rssBytes / 1e6).toFixed(1)} MB heap ${(s.heapUsedBytes / 1e6).toFixed(1)} MB handles ${s.handles} fds ${s.fds} eld p99 ${(s.eventLoopDelayP99Seconds * 1000).toFixed(1)} ms`);
      } catch {
        failedScrapes += 1;
      }
      nextSample += SAMPLE_EVERY_S;
    }
    if (t >= nextReload) {
      await lab.reload();
      reloads += 1;
      nextReload += RELOAD_EVERY_S;
    }
    if (awayState === 'before' && t >= PROMETHEUS_AWAY.fromMinute * 60) {
      gap = { before: sumSamples(await lab.scrape(), 'linkmon_probe_attempts_total', { target: TARGETS.tcp }), after: 0, to: 0 };
      await lab.prometheusAway(true);
      awayState = 'away';
    } else if (awayState === 'away' && t >= (PROMETHEUS_AWAY.fromMinute + PROMETHEUS_AWAY.forMinutes) * 60 && gap) {
      gap.after = sumSamples(await lab.scrape(), 'linkmon_probe_attempts_total', { target: TARGETS.tcp });
      await lab.prometheusAway(false);
      gap.to = Date.now() / 1000;
      awayState = 'back';
    }
    if (!faultsDone && t >= FAULTS_AT_MINUTE * 60) {
      faultsDone = true;
      await lab.blackhole(true);
      lab.faultServer('refuse');
      await lab.dns('down');
      await lab.snmp('gone');
      await sleep(30_000);
      await lab.blackhole(false);
      lab.faultServer('answer');
      await lab.dns('up');
      await lab.snmp('up');
      await lab.flapLink(20_000, 2000);
    }
    await sleep(1000);
  }
  const selector = `linkmon_probe_attempts_total{target="${TARGETS.tcp}"}`;
  const resets = await lab.prometheus.queryValue(`resets(${selector}[${MINUTES + 5}m])`);
  const firstAfterGap = gap ? Number((await lab.prometheus.queryRange(selector, gap.to, Date.now() / 1000, 1))[0]?.values[0]?.[1]) : NaN;
  const first = samples[1] ?? samples[0]!;
  const last = samples.at(-1)!;
  const max = (pick: (s: ResourceSample) => number) => Math.max(...samples.map(pick));
  const summary = {
    minutes: MINUTES,
    reloads,
    failed_scrapes: failedScrapes,
    prometheus_away_minutes: PROMETHEUS_AWAY.forMinutes,
    prometheus_counter_resets: resets,
    attempts_counted_while_away: gap ? gap.after - gap.before : null,
    first_prometheus_value_after_gap_covers_it: gap ? firstAfterGap >= gap.after : null,
    rss_mb: { first: first.rssBytes / 1e6, last: last.rssBytes / 1e6, max: max((s) => s.rssBytes) / 1e6 },
    heap_mb: { first: first.heapUsedBytes / 1e6, last: last.heapUsedBytes / 1e6, max: max((s) => s.heapUsedBytes) / 1e6 },
    handles: { first: first.handles, last: last.handles, max: max((s) => s.handles) },
    fds: { first: first.fds, last: last.fds, max: max((s) => s.fds) },
    event_loop_delay_p99_ms_max: max((s) => s.eventLoopDelayP99Seconds) * 1000,
  };
  const machine = `${machineAtStart} at start; ${machineNote()} at the end`;
  const rows = samples.map((s) => `| ${(s.t / 60).toFixed(1)} | ${(s.rssBytes / 1e6).toFixed(1)} | ${(s.heapUsedBytes / 1e6).toFixed(1)} | ${s.handles} | ${s.fds} | ${(s.eventLoopDelayP99Seconds * 1000).toFixed(1)} |`);
  writeResults(
    'soak',
    { machine, summary, samples },
    `# Soak: ${MINUTES} minutes (bench/soak.ts)\n\n${machine}.\n\nReloads: ${reloads}; failed scrapes: ${failedScrapes}; Prometheus away ${PROMETHEUS_AWAY.forMinutes} min: counter resets ${resets}, ${summary.attempts_counted_while_away} attempts counted meanwhile, first value after the gap covers them: ${summary.first_prometheus_value_after_gap_covers_it}. Faults at minute ${FAULTS_AT_MINUTE}.\n\n| minute | RSS MB | heap used MB | handles | fds | event-loop delay p99 ms |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
  );
  console.log(JSON.stringify(summary, null, 2));
} finally {
  await lab.destroy();
}

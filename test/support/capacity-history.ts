// Synthetic link histories for the capacity tests: the raw series an agent at the MPS data centre
// (SNMP interface counters, link terms, throughput-test bytes, poll failures) and two site agents
// (their uplinks) would have exported over months, as Prometheus would have scraped them.
// capacity-backfill.ts writes them into a TSDB and backfills the capacity rules from them;
// capacity-definitions.ts computes the expected figures from the same samples.
//
// Demand is set per aligned 5-minute window and constant within it, and counters are sampled twice
// per window (at +75 s and +225 s), so a window's increase() is its traffic whatever the phase of
// any rule evaluation. Weekday office hours follow Europe/London (BST-aware), nights and weekends are
// quiet, demand grows, uploads sometimes exceed downloads, and the hsl history has one six-hour gap
// in busy hours (the agent down), one counter reset (an agent restart in mid-window), and the spare
// link one failed SNMP poll.

const WINDOW = 300;
const DAY = 86400;
const SAMPLE_OFFSETS = [75, 225];
// Under the rules' one-hour term lookback.
const TERM_SPACING = 3000;
const SITE_SPACING = 3600;
const GBPS = 125_000_000;
const london = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hourCycle: 'h23', weekday: 'short', hour: 'numeric', minute: 'numeric' });

export interface Series {
  name: string;
  labels: Record<string, string>;
  times: number[];
  values: number[];
}

export interface LinkSpec {
  link: string;
  device: string;
  capacityBytes: number;
  stepBytes: number;
  leadTimeSeconds: number;
  thresholds: { recommend: number; forecast: number; unused: number };
  from: number;
  to: number;
  /** Busy-hour peak of the download direction at time t, share of capacity. */
  level: (t: number) => number;
  seed: number;
}

export interface CapacityHistory {
  from: number;
  to: number;
  links: LinkSpec[];
  series: Series[];
  /** The events put in, for the tests' own checks. */
  events: { gap: [number, number]; reset: number; snmpFailure: number };
}

export const DC = { job: 'linkmon', instance: 'dc:9470', site: 'dc' };
const utc = (text: string) => Date.parse(`${text}Z`) / 1000;

const localHours = new Map<number, { day: number; hour: number }>();

/** UK local weekday (0 = Sunday) and fractional hour of a Unix time, from the tz database (Intl). */
export function ukLocal(t: number): { day: number; hour: number } {
  // UK offsets are whole hours: look each UTC hour up once.
  const hourStart = t - (t % 3600);
  let local = localHours.get(hourStart);
  if (!local) {
    const parts = Object.fromEntries(london.formatToParts(new Date(hourStart * 1000)).map((p) => [p.type, p.value]));
    local = { day: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!), hour: Number(parts.hour) };
    localHours.set(hourStart, local);
  }
  return { day: local.day, hour: local.hour + (t - hourStart) / 3600 };
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The three links of the history: hsl (13 months of steady growth), wan (accelerating), spare (2 Gbps, needs 1). */
export function historyLinks(): LinkSpec[] {
  const hslFrom = utc('2025-09-01T00:00:00');
  const to = utc('2026-11-01T00:00:00');
  const wanFrom = utc('2026-05-04T00:00:00');
  const spareFrom = utc('2026-06-01T00:00:00');
  const linear = (from: number, a: number, b: number) => (t: number) => a + ((b - a) * (t - from)) / (to - from);
  return [
    {
      link: 'hsl',
      device: 'hsl-router',
      capacityBytes: GBPS,
      stepBytes: GBPS,
      leadTimeSeconds: 60 * DAY,
      thresholds: { recommend: 0.75, forecast: 0.8, unused: 0.5 },
      from: hslFrom,
      to,
      level: linear(hslFrom, 0.38, 0.86),
      seed: 11,
    },
    {
      link: 'wan',
      device: 'wan-router',
      capacityBytes: GBPS,
      stepBytes: GBPS,
      leadTimeSeconds: 30 * DAY,
      thresholds: { recommend: 0.7, forecast: 0.8, unused: 0.5 },
      from: wanFrom,
      to,
      level: (t) => 0.3 + 0.55 * ((t - wanFrom) / (to - wanFrom)) ** 2,
      seed: 23,
    },
    {
      link: 'spare',
      device: 'spare-router',
      capacityBytes: 2 * GBPS,
      stepBytes: GBPS,
      leadTimeSeconds: 30 * DAY,
      thresholds: { recommend: 0.7, forecast: 0.8, unused: 0.5 },
      from: spareFrom,
      to,
      level: () => 0.18,
      seed: 37,
    },
  ];
}

/** Download (in) and upload (out) utilisation of one window: office hours, quiet nights, upload bursts. */
function windowDemand(spec: LinkSpec, start: number, rnd: () => number, dayFactor: number, burst: boolean): { in: number; out: number } {
  const { day, hour } = ukLocal(start);
  const noise = 1 + 0.08 * (rnd() - 0.5);
  let inbound: number;
  if (day >= 1 && day <= 5 && hour >= 7 && hour < 19) inbound = spec.level(start) * (0.3 + 0.7 * Math.sin((Math.PI * (hour - 7)) / 12)) * dayFactor * noise;
  else inbound = 0.06 * noise;
  inbound = Math.min(inbound, 0.97);
  const outbound = burst ? Math.min(0.97, 1.3 * inbound) : 0.45 * inbound;
  return { in: inbound, out: outbound };
}

/** Throughput tests across hsl from site esb: weekdays 02:00 and 10:30 UTC, one window each way. */
function testWindow(start: number): boolean {
  const secondOfDay = start % DAY;
  const weekday = new Date(start * 1000).getUTCDay();
  return weekday >= 1 && weekday <= 5 && (secondOfDay === 2 * 3600 || secondOfDay === 10.5 * 3600);
}
const TEST_BYTES_PER_SECOND = 0.2 * GBPS;

export function generateCapacityHistory(): CapacityHistory {
  const links = historyLinks();
  const from = Math.min(...links.map((l) => l.from));
  const to = Math.max(...links.map((l) => l.to));
  // The dc agent not scraped (up 0) for six busy hours; it kept counting, so no reset.
  const gap: [number, number] = [utc('2026-03-11T09:00:00'), utc('2026-03-11T15:00:00')];
  // An agent restart between the two samples of a window: Prometheus sees a drop and counts from zero.
  const reset = utc('2026-05-20T11:02:30');
  const snmpFailure = utc('2026-07-15T10:00:00');
  const series: Series[] = [];
  const add = (name: string, labels: Record<string, string>) => {
    const s: Series = { name, labels, times: [], values: [] };
    series.push(s);
    return s;
  };
  const push = (s: Series, t: number, v: number) => {
    s.times.push(t);
    s.values.push(v);
  };
  /** hsl's demand octets (both directions) per window, for the site uplinks. */
  const hslOctets: Array<{ start: number; octets: number; test: number }> = [];

  for (const spec of links) {
    const rnd = random(spec.seed);
    const isHsl = spec.link === 'hsl';
    const iface = { ...DC, device: spec.device, interface: spec.link };
    const counters = { in: add('linkmon_interface_bytes_total', { ...iface, direction: 'in' }), out: add('linkmon_interface_bytes_total', { ...iface, direction: 'out' }) };
    const testLabels = { job: 'linkmon', instance: 'esb:9470', site: 'esb', target: 'caid-throughput', kind: 'throughput', link: 'hsl' };
    const tests = isHsl ? { out: add('linkmon_throughput_test_bytes_total', { ...testLabels, direction: 'site_to_dc' }), in: add('linkmon_throughput_test_bytes_total', { ...testLabels, direction: 'dc_to_site' }) } : undefined;
    const failures = spec.link === 'spare' ? add('linkmon_snmp_poll_failures_total', { ...DC, device: spec.device, reason: 'timeout' }) : undefined;
    /** Octets since the link's start, and what the counter read at the agent restart (subtracted after it). */
    const cumulative = { in: 0, out: 0 };
    const base = { in: 0, out: 0 };
    const testCumulative = { in: 0, out: 0 };
    let dayFactor = 1;
    let burstDay = false;
    for (let start = spec.from; start < spec.to; start += WINDOW) {
      if (start % DAY === 0) {
        dayFactor = 0.9 + 0.2 * rnd();
        burstDay = rnd() < 0.12;
      }
      const { hour } = ukLocal(start);
      const demand = windowDemand(spec, start, rnd, dayFactor, burstDay && hour >= 14 && hour < 16);
      const test = tests && testWindow(start) ? TEST_BYTES_PER_SECOND : 0;
      const scraped = !(isHsl && start >= gap[0] && start < gap[1]);
      for (const direction of ['in', 'out'] as const) {
        // On the wire a test adds its payload plus headers (the rules subtract payload × overhead).
        const rate = demand[direction] * spec.capacityBytes + 1.05 * test;
        if (isHsl && reset > start && reset < start + WINDOW) base[direction] = cumulative[direction] + rate * (reset - start);
        for (const offset of SAMPLE_OFFSETS) if (scraped) push(counters[direction], start + offset, Math.round(cumulative[direction] + rate * offset - base[direction]));
        cumulative[direction] += rate * WINDOW;
        if (tests && test > 0) {
          for (const offset of SAMPLE_OFFSETS) push(tests[direction], start + offset, Math.round(testCumulative[direction] + test * offset));
          testCumulative[direction] += test * WINDOW;
        }
      }
      if (failures && Math.abs(start - snmpFailure) <= WINDOW) {
        // Samples around the failed poll only: it failed between the two samples of its window.
        for (const offset of SAMPLE_OFFSETS) push(failures, start + offset, start > snmpFailure || (start === snmpFailure && offset === SAMPLE_OFFSETS[1]) ? 1 : 0);
      }
      if (isHsl) hslOctets.push({ start, octets: (demand.in + demand.out) * spec.capacityBytes * WINDOW, test: 2 * 1.05 * test * WINDOW });
    }
    addTerms(series, spec);
  }

  // The sites' own uplinks (polled by their agents, hourly here): ESB carries 18% of hsl demand plus
  // its throughput tests, Lambeth 10%. Sampled at half past each hour.
  for (const [site, share] of [['esb', 0.18], ['lambeth', 0.1]] as const) {
    const at = { job: 'linkmon', instance: `${site}:9470`, site };
    const counter = add('linkmon_interface_bytes_total', { ...at, device: `${site}-router`, interface: 'uplink', direction: 'out' });
    const info = add('linkmon_link_info', { ...at, link: `${site}-uplink`, device: `${site}-router`, interface: 'uplink' });
    const capacity = add('linkmon_link_capacity_bytes', { ...at, link: `${site}-uplink` });
    let octets = 0;
    for (const w of hslOctets) {
      octets += share * w.octets + (site === 'esb' ? w.test : 0);
      const end = w.start + WINDOW;
      if (end % SITE_SPACING === SITE_SPACING / 2) {
        push(counter, end, Math.round(octets));
        push(info, end, 1);
        push(capacity, end, GBPS);
      }
    }
  }
  for (const site of ['dc', 'esb', 'lambeth']) {
    const up = add('up', { job: 'linkmon', instance: `${site}:9470`, site });
    for (let t = from + SITE_SPACING / 2; t < to; t += SITE_SPACING) push(up, t, site === 'dc' && t >= gap[0] && t < gap[1] ? 0 : 1);
  }
  return { from, to, links, series, events: { gap, reset, snmpFailure } };
}

/** The link's terms (linkmon_link_*) as the dc agent exports them, every half hour over the link's life. */
function addTerms(series: Series[], spec: LinkSpec): void {
  const at = { ...DC, link: spec.link };
  const terms: Array<[string, Record<string, string>, number]> = [
    ['linkmon_link_info', { ...at, device: spec.device, interface: spec.link }, 1],
    ['linkmon_link_capacity_bytes', at, spec.capacityBytes],
    ['linkmon_link_step_bytes', at, spec.stepBytes],
    ['linkmon_link_step_one_off_cost_gbp', at, 500],
    ['linkmon_link_step_annual_cost_gbp', at, 1500],
    ['linkmon_link_step_lead_time_seconds', at, spec.leadTimeSeconds],
    ...(['recommend', 'forecast', 'unused'] as const).map((threshold): [string, Record<string, string>, number] => ['linkmon_link_threshold_ratio', { ...at, threshold }, spec.thresholds[threshold]]),
  ];
  for (const [name, labels, value] of terms) {
    const s: Series = { name, labels, times: [], values: [] };
    for (let t = spec.from + 7; t < spec.to + TERM_SPACING; t += TERM_SPACING) {
      s.times.push(t);
      s.values.push(value);
    }
    series.push(s);
  }
}

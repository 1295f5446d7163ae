// Runs the ICMP prober in its own process, so a test can place it in a network namespace
// (`ip netns exec`) or drop its privileges (setpriv): Node cannot change either for itself.
// Usage: node --import tsx test/agent/probes/icmp/probe-runner.ts '<RunnerSpec JSON>'; prints a RunnerOutput JSON line.
import { IcmpProber } from '../../../../agent/probes/icmp/prober.js';
import type { IcmpTransport } from '../../../../agent/probes/icmp/socket.js';
import type { ModuleOf, ProbeResult, ProberAvailability } from '../../../../agent/probes/types.js';

export interface RunnerProbe {
  host: string;
  /** The module's source_ip_address, source_interface and dscp. */
  source_ip_address?: string;
  source_interface?: string;
  dscp?: number;
  timeout?: number;
  payload_bytes?: number;
}

export interface RunnerSpec {
  /** Sent all at once, so they are in flight together on the shared socket. */
  probes: RunnerProbe[];
  transport?: IcmpTransport;
}

export interface RunnerOutput {
  availability: ProberAvailability;
  timestamps?: 'kernel' | 'event-loop';
  results: ProbeResult[];
}

const spec = JSON.parse(process.argv[2] ?? '{"probes":[]}') as RunnerSpec;
const prober = new IcmpProber(spec.transport ?? 'auto');
const availability = await prober.start();
const timestamps = prober.timestampSource();
const signal = new AbortController().signal;
const results = availability.available
  ? await Promise.all(
      spec.probes.map((p) => {
        const module: ModuleOf<'icmp'> = { kind: 'icmp', interval: 10, timeout: p.timeout ?? 1, packets: 1, payload_bytes: p.payload_bytes ?? 56, source_ip_address: p.source_ip_address, source_interface: p.source_interface, dscp: p.dscp };
        return prober.probe({ target: { name: p.host.replace(/[^A-Za-z0-9]/g, '_'), module: 'icmp', host: p.host, labels: {} }, module, labels: {}, signal });
      }),
    )
  : [];
await prober.stop();
const output: RunnerOutput = { availability, ...(timestamps ? { timestamps } : {}), results };
process.stdout.write(`${JSON.stringify(output)}\n`);

import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config-file.js';
import { parseConfigText } from '../../../agent/config/load.js';

const config = (module: string, target = '{ name: dc, module: udp, host: 198.18.100.2 }') =>
  `site: { id: esb, name: ESB }\nmodules:\n  udp: ${module}\ntargets:\n  - ${target}\n`;
const problems = (text: string) => {
  try {
    parseConfigText(text, 'inline.yaml');
    return [];
  } catch (err) {
    return err instanceof ConfigError ? err.problems : [String(err)];
  }
};

describe('udp module config', () => {
  it('defaults to 10 packets per second of 44 bytes (the STAMP base packet) to the responder port', () => {
    const parsed = parseConfigText(config('{ kind: udp }'), 'inline.yaml');
    expect(parsed.modules.udp).toEqual({ kind: 'udp', interval: 10, timeout: 1, packets: 100, packet_bytes: 44, port: 9483 });
  });

  it('takes the port from the target, and checks size and rate', () => {
    expect(problems(config('{ kind: udp }', '{ name: dc, module: udp, host: 198.18.100.2, port: 5000 }'))).toEqual([]);
    expect(problems(config('{ kind: udp, packet_bytes: 48 }'))).toEqual([]);
    const size = 'expected 44 (the STAMP base packet) or 48 to 1472 (base packet, 4-byte padding TLV header, padding)';
    for (const bad of [20, 46, 1500]) expect(problems(config(`{ kind: udp, packet_bytes: ${bad} }`))).toEqual([`modules.udp.packet_bytes: ${size}`]);
    expect(problems(config('{ kind: udp, packets: 5000, interval: 1s }'))).toEqual(['modules.udp.packets: expected at most 1000 packets per second, got 5000 per 1s']);
  });
});

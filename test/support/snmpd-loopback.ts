// A real Debian snmpd on a loopback UDP port, answering SNMPv2c for one community with the host's
// own IF-MIB (so `lo` counts real traffic). Needs the Debian packages snmpd and snmp (snmpget).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gracefulStop } from './exit-cleanup.js';
import { freeLoopbackUdpPort } from './ports.js';

export interface Snmpd {
  port: number;
  community: string;
  stop(): Promise<void>;
}

export async function startSnmpd(community: string): Promise<Snmpd> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-snmpd-'));
  const port = await freeLoopbackUdpPort();
  writeFileSync(join(dir, 'snmpd.conf'), `rocommunity ${community} 127.0.0.1\n`);
  // -C: only this config file. MIBDIRS at an empty path: snmpd needs no MIB files and would log hundreds of parse warnings.
  const child = spawn('snmpd', ['-f', '-Lo', '-C', '-c', join(dir, 'snmpd.conf'), `--persistent-dir=${join(dir, 'persist')}`, `udp:127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MIBDIRS: join(dir, 'no-mibs') },
  });
  const stopChild = gracefulStop(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const stop = async () => {
    await stopChild();
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when it answers sysUpTime; bounded to 40 tries (about 10 s).
  for (let attempt = 0; attempt < 40; attempt++) {
    if (child.exitCode !== null) break;
    try {
      await promisify(execFile)('snmpget', ['-v2c', '-c', community, '-t', '0.2', '-r', '0', '-On', `127.0.0.1:${port}`, '1.3.6.1.2.1.1.3.0'], { timeout: 2000 });
      return { port, community, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await stop();
  throw new Error(`snmpd did not answer on 127.0.0.1:${port}:\n${output.slice(-2000)}`);
}

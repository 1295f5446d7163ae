// Drives one delayline.py process (a TUN device in the wan namespace). Root required.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnProcessExit } from '../support/exit-cleanup.js';
import { inNetns } from './run.js';

const SCRIPT = fileURLToPath(new URL('./delayline.py', import.meta.url));

export interface DelaySpec {
  ms: number;
  /** Uniform jitter: each packet gets ms ± jitterMs (never below 0). */
  jitterMs?: number;
}

export interface DelayLineStats {
  packets: number;
  dropped: number;
  /** How late packets were written back compared with their release time, since the last call. */
  late_us: { p50: number; p99: number; max: number };
}

export class DelayLine {
  private readonly child: ChildProcess;
  private buffered = '';
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  private readonly exited: Promise<void>;

  /** `addressField`: which address's third octet names the site (src for site_to_dc, dst for dc_to_site). */
  private constructor(ns: string, tun: string, addressField: 'src' | 'dst') {
    const argv = inNetns(ns, ['python3', '-u', SCRIPT, tun, addressField]);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    killOnProcessExit(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        this.waiting.shift()?.(line);
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.once('exit', () => {
      for (const resolve of this.waiting.splice(0)) resolve(`exited: ${this.stderr.trim()}`);
    });
  }

  static async start(ns: string, tun: string, addressField: 'src' | 'dst'): Promise<DelayLine> {
    const line = new DelayLine(ns, tun, addressField);
    const ready = await line.nextLine(10_000);
    if (ready !== 'ready') {
      await line.stop();
      throw new Error(`delay line ${tun} did not start: ${ready}`);
    }
    return line;
  }

  /** Delay for packets of site `site` and dc host `dcHost` (last octet of 198.18.100.x); 0 matches any. Matching delays add up. */
  async set(site: number, dcHost: number, spec: DelaySpec): Promise<void> {
    const reply = await this.command(`set ${site} ${dcHost} ${Math.round(spec.ms * 1000)} ${Math.round((spec.jitterMs ?? 0) * 1000)}`);
    if (reply !== 'ok') throw new Error(`delay line refused set: ${reply}`);
  }

  async stats(): Promise<DelayLineStats> {
    return JSON.parse(await this.command('stats')) as DelayLineStats;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin!.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  private command(text: string): Promise<string> {
    const reply = this.nextLine(5000);
    this.child.stdin!.write(`${text}\n`);
    return reply;
  }

  private nextLine(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const waiter = (line: string) => {
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`delay line did not answer within ${timeoutMs} ms: ${this.stderr.trim()}`));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }
}

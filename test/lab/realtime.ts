// Real-time priority for the lab's timing-sensitive processes (README.md): SCHED_FIFO 5, below the
// delay line's 10. Needs root and util-linux's chrt.
import { run } from './run.js';

/** argv prefix for a native tool (iperf3) that runs at real-time priority from its start. */
export const REALTIME = ['chrt', '--fifo', '5'];

/**
 * Moves every thread of a running process to real-time priority. For Node processes started from
 * the TypeScript sources, only once they have loaded: started under chrt, tsx's esbuild (a Go
 * service) inherits SCHED_FIFO too, and its spinning threads can take both cores from everything
 * else on the box while it compiles.
 */
export async function makeRealtime(pid: number): Promise<void> {
  await run(['chrt', '--all-tasks', '--fifo', '--pid', '5', String(pid)]);
}

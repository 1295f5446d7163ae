// A loopback port whose SYNs go unanswered: the dead-host case without a namespace. Needs the
// Debian package python3 (scripts/test-host-setup.sh).
//
// A listening socket nobody accepts from, with backlog 0, takes one connection into its accept
// queue; from then on Linux drops every SYN to it (tcp_conn_request: accept queue full → drop,
// counted as ListenOverflows), so a connect() stays in SYN-SENT and retransmits the SYN until the
// kernel gives up (~127 s), exactly as towards a blackholed host. Node cannot stop accepting, hence
// the small Python process.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { killOnProcessExit } from './exit-cleanup.js';

const SINK = `
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

export interface SynSink {
  port: number;
  close(): Promise<void>;
}

export async function startSynSink(): Promise<SynSink> {
  const child: ChildProcess = spawn('python3', ['-c', SINK], { stdio: ['pipe', 'pipe', 'inherit'] });
  killOnProcessExit(child);
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
    child.once('exit', (code) => reject(new Error(`syn sink exited ${code}`)));
  });
  // Fill the accept queue: this connection completes the handshake and is never accepted.
  const filler: Socket = await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
  return {
    port,
    close: async () => {
      filler.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}

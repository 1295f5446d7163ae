// The Node floor of ICMP probing: the agent's own raw socket (the native addon, kernel receive
// timestamps) doing bench/icmp-cpu.ts's workload, N targets at 1 echo/s each spread over the second
// and sent on the agent's 50 ms grid, counting replies and nothing else: no scheduler, no promises,
// no metrics, no HTTP server. What any Node process pays per echo with this transport.
// Root (raw socket); run inside a namespace. Usage: node dist/bench/lib/icmp-floor.js '{"targets":50,"warmupSeconds":10,"measureSeconds":60}'
// Prints one JSON line: { probes, replies, cpuSeconds } over the measured window.
import { buildEchoRequest, parseEchoAnswer } from '../../agent/probes/icmp/packet.js';
import { nativeAddon } from '../../agent/probes/native/addon.js';

const { targets: count, warmupSeconds, measureSeconds } = JSON.parse(process.argv[2] ?? '{}') as { targets: number; warmupSeconds: number; measureSeconds: number };
const GRID_MS = 50;
const addon = nativeAddon();
if (!addon) throw new Error('the native addon is not built (npm run build)');
const identifier = process.pid & 0xffff;
const packets = Array.from({ length: count }, (_, i) => buildEchoRequest(4, identifier, i, 56));
const addresses = Array.from({ length: count }, (_, i) => `127.0.1.${i + 1}`);
let replies = 0;
const handle = addon.icmp.open(4, 'raw', (packet) => {
  const answer = parseEchoAnswer(4, packet);
  if (answer?.kind === 'reply' && answer.identifier === identifier) replies++;
});

let sent = 0;
let slot = 0;
const slotsPerSecond = 1000 / GRID_MS;
const timer = setInterval(() => {
  // Target i is due in slot i mod 20 of every second: 2-3 echoes per slot, as the agent's grid sends them.
  for (let i = slot % slotsPerSecond; i < count; i += slotsPerSecond) {
    addon.icmp.send(handle, packets[i]!, addresses[i]!);
    sent++;
  }
  slot++;
}, GRID_MS);

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
await sleep(warmupSeconds);
const [sentBefore, repliesBefore, cpuBefore] = [sent, replies, process.cpuUsage()];
await sleep(measureSeconds);
const cpu = process.cpuUsage(cpuBefore);
clearInterval(timer);
addon.icmp.close(handle);
process.stdout.write(`${JSON.stringify({ probes: sent - sentBefore, replies: replies - repliesBefore, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);

#!/usr/bin/env python3
"""Userspace delay line for the network lab (netem is not available in this kernel).

Usage (root, inside the lab's wan namespace):  delayline.py TUN_NAME {src|dst}

Creates the TUN device TUN_NAME (gone again when this process exits), reads every IPv4
packet the kernel routes into it, holds it for delay +- uniform jitter and writes it back,
so the kernel forwards it on. Delays are set per (site, dc host), 0 meaning any; a packet gets
the sum of the delays set for (0, 0), (its site, 0), (0, its dc host) and (its site, its dc host).
Its site is the third octet of its site-side address when that is in 198.18.1-99.0/24, its dc
host the fourth octet of its dc-side address when that is in 198.18.100.0/24. `src`: the site
is the source (site_to_dc); `dst`: the site is the destination (dc_to_site).

Timing: every packet is held for BASE (150 us) + delay +- jitter after it was read. The base
covers reading and queueing the packet, so delay 0 is a fixed ~0.2 ms pass-through and a set
delay adds exactly that much on top. Release times come from CLOCK_MONOTONIC; the loop sleeps
in select() until SPIN (0.5 ms) before the next release and busy-waits the rest (select with
timeout 0, so new packets and commands are still read). The process asks for SCHED_FIFO and a
1 ns timer slack, so it is released within ~10 us (p99 ~40 us on the busy 2-core dev box).
Busy-waiting costs CPU while packets are queued: meant for probe traffic (hundreds to a few
thousand packets/s), not bulk throughput. Jitter draws each packet's delay independently, so
jittered packets can be reordered.

Control on stdin, one command per line, each answered by one line on stdout:
  set SITE DC_HOST DELAY_US JITTER_US   -> ok
  stats                         -> JSON: packets, dropped, late_us {p50, p99, max} since last stats
Exits when stdin closes (the parent died), so no delay line outlives its lab.
"""
import ctypes
import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PR_SET_TIMERSLACK = 29
# Every packet is held at least this long, so reading and queueing it (20-70 us here) happens
# inside the hold: a configured delay D then adds exactly D to the delay-0 path.
BASE_NS = int(os.environ.get('DELAYLINE_BASE_US', '150')) * 1000
SPIN_NS = int(os.environ.get('DELAYLINE_SPIN_US', '500')) * 1000
MAX_QUEUE = 50_000
NONE = (0, 0)


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def classify(packet, site_offset, dc_offset):
    """(site, dc host) of an IPv4 packet; 0 for whichever is not a lab address."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return 0, 0
    site = host = 0
    if packet[site_offset] == 198 and packet[site_offset + 1] == 18 and 1 <= packet[site_offset + 2] <= 99:
        site = packet[site_offset + 2]
    if packet[dc_offset] == 198 and packet[dc_offset + 1] == 18 and packet[dc_offset + 2] == 100:
        host = packet[dc_offset + 3]
    return site, host


def main():
    name, which = sys.argv[1], sys.argv[2]
    site_offset, dc_offset = (12, 16) if which == 'src' else (16, 12)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.environ.get('DELAYLINE_FIFO', '1') == '1':
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        except OSError:
            pass
    fd = open_tun(name)
    stdin = sys.stdin.buffer.raw
    delays = {}  # (site, dc host) -> (delay_ns, jitter_ns); 0 matches any
    queue = []  # (release_ns, seq, packet)
    seq = 0
    packets = dropped = 0
    late = []
    control = b''
    mono = time.monotonic_ns
    rand = random.random
    print('ready', flush=True)

    while True:
        timeout = None
        if queue:
            wait = queue[0][0] - mono()
            timeout = 0 if wait <= SPIN_NS else (wait - SPIN_NS) / 1e9
        readable, _, _ = select.select([fd, stdin], [], [], timeout)

        if fd in readable:
            now = mono()
            while True:
                try:
                    packet = os.read(fd, 65535)
                except BlockingIOError:
                    break
                packets += 1
                if len(queue) >= MAX_QUEUE:
                    dropped += 1
                    continue
                delay = jitter = 0
                if delays:
                    site, host = classify(packet, site_offset, dc_offset)
                    for key in {(0, 0), (site, 0), (0, host), (site, host)}:
                        d, j = delays.get(key, NONE)
                        delay += d
                        jitter += j
                if jitter:
                    delay = max(0, delay + int((2 * rand() - 1) * jitter))
                delay += BASE_NS
                seq += 1
                heapq.heappush(queue, (now + delay, seq, packet))

        if stdin in readable:
            chunk = os.read(stdin.fileno(), 4096)
            if not chunk:
                return
            control += chunk
            while b'\n' in control:
                line, control = control.split(b'\n', 1)
                words = line.decode().split()
                if words and words[0] == 'set':
                    delays[(int(words[1]), int(words[2]))] = (int(words[3]) * 1000, int(words[4]) * 1000)
                    print('ok', flush=True)
                elif words and words[0] == 'stats':
                    late.sort()
                    pick = lambda q: late[min(len(late) - 1, int(q * len(late)))] / 1000 if late else 0
                    print(json.dumps({'packets': packets, 'dropped': dropped,
                                      'late_us': {'p50': pick(0.5), 'p99': pick(0.99), 'max': pick(1.0)}}), flush=True)
                    late = []
                elif words:
                    print('error unknown command', flush=True)

        # Release everything due. Within SPIN_NS of the next release the select() above returns at
        # once, so the loop busy-waits while still reading new packets and commands.
        now = mono()
        while queue and queue[0][0] <= now:
            release, _, packet = heapq.heappop(queue)
            if len(late) < 100_000:
                late.append(mono() - release)
            try:
                os.write(fd, packet)
            except OSError:
                dropped += 1

if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass

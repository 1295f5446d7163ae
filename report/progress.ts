// Progress of a long report on a terminal (stderr), one line rewritten in place; silent otherwise
// (a systemd timer or a pipe gets no control characters).
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  update(done: number, total: number, month: string): void;
  end(): void;
}

const MIN_INTERVAL_MS = 100;

export function terminalProgress(stream: ProgressStream): Progress {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update(done, total, month) {
      const now = Date.now();
      if (now - last < MIN_INTERVAL_MS && done < total) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[Klinkmon report: ${month}, query ${done} of ${total}`);
    },
    end() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

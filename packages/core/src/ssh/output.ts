/**
 * Splits streamed chunks into whole lines and writes each with a per-host prefix, so the
 * output of hosts running in parallel never interleaves mid-line. Call `flush()` at the end.
 */
export function linePrefixer(prefix: string, write: (line: string) => void): { push: (chunk: string) => void; flush: () => void } {
  let pending = '';
  return {
    push(chunk: string) {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        write(`${prefix}${pending.slice(0, nl)}`);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    },
    flush() {
      if (pending !== '') write(`${prefix}${pending}`);
      pending = '';
    },
  };
}

/** The last line a command printed (what a one-line error should quote). */
export function lastOutputLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

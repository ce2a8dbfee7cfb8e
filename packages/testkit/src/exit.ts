const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Runs `cleanup` (synchronous) when the test process exits, also when it is stopped by a signal (a CI
 * timeout, Ctrl-C), and then lets the signal end the process as it would have. Answers how to cancel it.
 */
export function cleanUpOnExit(cleanup: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    cancel();
    cleanup();
    process.kill(process.pid, signal);
  };
  const cancel = () => {
    process.off('exit', cleanup);
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  process.once('exit', cleanup);
  for (const s of SIGNALS) process.once(s, onSignal);
  return cancel;
}

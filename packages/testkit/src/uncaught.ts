/**
 * Runs `fn` and returns every error that reached the process as uncaught while it ran (and for
 * `settleMs` after): for proving that a late socket error is handled instead of crashing the process.
 */
export async function uncaughtDuring(fn: () => Promise<void>, settleMs = 500): Promise<unknown[]> {
  const caught: unknown[] = [];
  const onUncaught = (err: unknown) => caught.push(err);
  const previous = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const listener of previous) process.on('uncaughtException', listener);
  }
  return caught;
}

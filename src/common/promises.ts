/**
 * Independent work run side by side, with a deterministic outcome: whichever finishes first, the
 * failure reported is the first in list order, so the same mistakes always give the same answer.
 */

/** Awaits every promise; rejects with the first rejection in list order, not in time order. */
export async function firstFailureInOrder<T extends readonly unknown[]>(promises: {
  readonly [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return settled.map((o) => (o as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Messages handed to a consumer and not yet acknowledged. Both transports keep one per consumer: it is
 * what prefetch is measured against, and what a cancelling subscription waits to drop to zero.
 */
export class UnackedCount {
  private count = 0;
  private idleWaiters: (() => void)[] = [];

  get value(): number {
    return this.count;
  }

  delivered(): void {
    this.count += 1;
  }

  acked(): void {
    this.count -= 1;
    if (this.count === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves once every delivered message has been acknowledged. */
  whenIdle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

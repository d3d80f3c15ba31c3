/**
 * Work on one instance run one after another, while different instances do not wait for each other:
 * a host duty and a guest event, or two changes of a guest's interfaces, must not interleave.
 */
export class InstanceQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` after the work queued before it for `uuid` (whether that succeeded or not). */
  run(uuid: string, work: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(uuid) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(uuid, tail);
    void tail.then(() => {
      if (this.tails.get(uuid) === tail) this.tails.delete(uuid);
    });
    return next;
  }
}

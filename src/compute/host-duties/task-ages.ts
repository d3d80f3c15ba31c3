/**
 * How long this host has seen each instance in a kind of task (a build, a reboot). The instance payload
 * a compute host reads carries no timestamps (adding one would change the conductor's contract), so an
 * age counts from the first check that saw the instance in that task: a timeout fires at most one check
 * period later than Nova's, which times from created_at, and never earlier. A restart starts the count
 * again, which only delays the verdict.
 */
export class TaskAges {
  /** First sighting per kind, per instance. */
  private readonly since = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Records that `instances` are (still) in `kind`, forgets the instances that left it, and answers
   * those seen in it for at least `seconds`.
   */
  overdue<T extends { uuid: string }>(kind: string, instances: readonly T[], seconds: number): T[] {
    const at = this.now();
    const previous = this.since.get(kind) ?? new Map<string, number>();
    const current = new Map<string, number>();
    for (const { uuid } of instances) current.set(uuid, previous.get(uuid) ?? at);
    this.since.set(kind, current);
    return instances.filter(({ uuid }) => at - current.get(uuid)! >= seconds * 1000);
  }

  /** Starts the count of `uuid` in `kind` again (after acting on it, so it is not acted on every check). */
  restart(kind: string, uuid: string): void {
    this.since.get(kind)?.set(uuid, this.now());
  }
}

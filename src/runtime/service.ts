/** What every running service exposes to the process that hosts it. */
export interface RunningService {
  readonly name: string;
  /** Stops taking work, waits for the work in flight, releases resources. */
  stop(): Promise<void>;
}

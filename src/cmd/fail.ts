/** Start-up failures end the process with a one-line cause and fix, not a stack trace. */
import { StratusError } from '../common/errors.ts';
import { flushLogs } from '../common/log/logger.ts';

export function exitWithError(command: string, err: unknown): never {
  const error = err as Error;
  const known = error instanceof StratusError;
  process.stderr.write(`${command}: error: ${known ? error.message : (error.stack ?? String(error))}\n`);
  flushLogs();
  process.exit(known ? 2 : 1);
}

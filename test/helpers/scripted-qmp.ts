/** A unix socket that greets like qemu and answers each command as the test scripts it. */
import { createServer, type Socket } from 'node:net';

export interface ScriptedCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

/** Listens on `path`; `answer` writes the reply lines (and any events) for each command but qmp_capabilities. */
export async function scriptedQmp(
  path: string,
  answer: (command: string, socket: Socket, message: ScriptedCommand) => void,
): Promise<() => void> {
  const server = createServer((socket) => {
    socket.write('{"QMP": {"version": {}, "capabilities": []}}\n');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, i)) as ScriptedCommand;
        buffer = buffer.slice(i + 1);
        if (message.execute === 'qmp_capabilities') socket.write('{"return": {}}\n');
        else answer(message.execute, socket, message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return () => server.close();
}

import { useEffect, useState } from 'react';
import { call } from '../api.ts';
import { ErrorText } from '../components.tsx';

/**
 * The server's VNC console, embedded: noVNC's own page (vnc_lite.html) from the console proxy in a
 * frame, at the URL the compute API hands any client (remote-consoles). Its client code is the proxy's,
 * not shipped with the dashboard. A console URL opens one connection, so "Reconnect" asks for a new one.
 */
export function ServerConsole({ serverId, running }: { serverId: string; running: boolean }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!running) {
      setUrl(null);
      return;
    }
    let stale = false;
    call<{ remote_console: { url: string } }>('compute', `/v2.1/servers/${serverId}/remote-consoles`, {
      body: { remote_console: { protocol: 'vnc', type: 'novnc' } },
    })
      .then(({ remote_console }) => {
        if (stale) return;
        setError(null);
        // scale: the screen fits the frame, whatever mode the guest's display is in.
        setUrl(`${remote_console.url}&scale=true`);
      })
      .catch((err: Error) => {
        if (stale) return;
        setUrl(null);
        setError(err.message);
      });
    return () => {
      stale = true;
    };
  }, [serverId, running, attempt]);
  if (!running) return <p>The console shows while the server runs.</p>;
  return (
    <div className="vnc">
      <ErrorText error={error} />
      {url ? <iframe key={url} src={url} title="VNC console" className="vnc-frame" /> : null}
      <p>
        <button type="button" onClick={() => setAttempt((n) => n + 1)}>
          Reconnect console
        </button>
      </p>
    </div>
  );
}

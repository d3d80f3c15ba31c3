import { useState } from 'react';
import { call } from '../api.ts';
import { ErrorText, Page, Table } from '../components.tsx';
import { navigate, usePoll } from '../hooks.ts';
import { ServerConsole } from './server-console.tsx';
import { ServerActions } from './server-actions.tsx';
import { addressList, type Server } from './servers.tsx';

interface InstanceAction {
  action: string;
  request_id: string;
  start_time: string;
  message: string | null;
  events?: { event: string; start_time: string; finish_time: string | null; result: string | null }[];
}

/** Lines of the console log shown: its tail, as `openstack console log show --lines` gives it. */
const CONSOLE_LINES = 40;

export function ServerDetail({ id, admin }: { id: string; admin: boolean }) {
  const server = usePoll(async () => {
    const body = await call<{ server: Server }>('compute', `/v2.1/servers/${id}`, { extensions: ['storage-tier'] });
    return body.server;
  }, 1500);
  const actions = usePoll(async () => {
    const { instanceActions } = await call<{ instanceActions: InstanceAction[] }>(
      'compute',
      `/v2.1/servers/${id}/os-instance-actions`,
    );
    return instanceActions;
  }, 3000);
  const consoleLog = usePoll(async () => {
    const { output } = await call<{ output: string }>('compute', `/v2.1/servers/${id}/action`, {
      body: { 'os-getConsoleOutput': { length: CONSOLE_LINES } },
    });
    return output;
  }, 3000);
  const s = server.data;
  return (
    <Page title={s ? `Server ${s.name}` : 'Server'}>
      <ErrorText error={server.error} />
      {s ? (
        <>
          <dl className="facts">
            <dt>ID</dt>
            <dd>{s.id}</dd>
            <dt>Status</dt>
            <dd className={`status status-${s.status.toLowerCase()}`}>{s.status}</dd>
            <dt>Task</dt>
            <dd>{s['OS-EXT-STS:task_state'] ?? 'none'}</dd>
            <dt>Flavor</dt>
            <dd>{s.flavor?.original_name ?? ''}</dd>
            <dt>Storage tier</dt>
            <dd>{s['STRATUS-EXT-STORAGE:tier'] ?? ''}</dd>
            <dt>Locked</dt>
            <dd>{s.locked ? 'yes' : 'no'}</dd>
            <dt>Addresses</dt>
            <dd>{addressList(s) || 'none'}</dd>
          </dl>
          <ServerActions server={s} onDone={server.refresh} full admin={admin} />
        </>
      ) : null}
      <h2>Console</h2>
      {s ? <ServerConsole serverId={s.id} running={s.status === 'ACTIVE'} /> : null}
      <h2>Console log</h2>
      <ErrorText error={consoleLog.error} />
      <pre className="console" tabIndex={0} aria-label="Console log">
        {consoleLog.data || '(empty)'}
      </pre>
      <h2>Actions</h2>
      <ErrorText error={actions.error} />
      <ActionLog serverId={id} actions={actions.data ?? []} />
      <p>
        <button type="button" onClick={() => navigate('servers')}>
          Back to servers
        </button>
      </p>
    </Page>
  );
}

function ActionLog({ serverId, actions }: { serverId: string; actions: InstanceAction[] }) {
  const [open, setOpen] = useState<InstanceAction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const show = (requestId: string) =>
    call<{ instanceAction: InstanceAction }>('compute', `/v2.1/servers/${serverId}/os-instance-actions/${requestId}`)
      .then((body) => {
        setError(null);
        setOpen(body.instanceAction);
      })
      .catch((err: Error) => setError(err.message));
  return (
    <>
      <Table label="Instance actions" columns={['Action', 'Started', 'Message', 'Request']}>
        {actions.map((a) => (
          <tr key={a.request_id}>
            <td>{a.action}</td>
            <td>{a.start_time}</td>
            <td>{a.message ?? ''}</td>
            <td>
              <button type="button" onClick={() => void show(a.request_id)}>
                Events of {a.request_id}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <ErrorText error={error} />
      {open ? (
        <div className="panel">
          <h3>
            Events of {open.action} ({open.request_id})
          </h3>
          <ul>
            {(open.events ?? []).map((e) => (
              <li key={`${e.event}-${e.start_time}`}>
                {e.event}: {e.result ?? 'running'} ({e.start_time} to {e.finish_time ?? '…'})
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </>
  );
}

/**
 * A server's actions (POST /servers/{id}/action), only those its current status allows: the full set on
 * its own page, the everyday ones in the servers list. Actions that destroy or disrupt ask first; those
 * that need a choice (a flavor, an image, a name) ask for it. Errors show in the API's own words beside
 * the button.
 */
import { useState, type FormEvent } from 'react';
import { call } from '../api.ts';
import { ActionButton, ConfirmButton, ErrorText, Field } from '../components.tsx';

export interface ActionableServer {
  id: string;
  name: string;
  status: string;
  locked?: boolean;
  flavor?: { original_name?: string };
  'OS-EXT-STS:task_state'?: string | null;
}

const serverAction = (id: string, body: unknown) => call('compute', `/v2.1/servers/${id}/action`, { body });

interface Choice {
  value: string;
  label: string;
}

/**
 * A button that first asks for a value (picked from `load`'s choices, or typed when there is no
 * `load`), with `question` as a warning when the action disrupts the server, then runs `run` with it.
 */
function ChoiceButton(props: {
  label: string;
  field: string;
  question?: string;
  load?: () => Promise<Choice[]>;
  run: (value: string) => Promise<unknown>;
}) {
  const [open, setOpen] = useState(false);
  const [choices, setChoices] = useState<Choice[] | null>(null);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const start = () => {
    setOpen(true);
    setError(null);
    if (!props.load) return;
    props
      .load()
      .then((list) => {
        setChoices(list);
        setValue(list[0]?.value ?? '');
      })
      .catch((err: Error) => setError(err.message));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    props
      .run(value)
      .then(() => {
        setError(null);
        setOpen(false);
      })
      .catch((err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  if (!open) {
    return (
      <span>
        <button type="button" className={props.question ? 'danger' : undefined} onClick={start}>
          {props.label}
        </button>
        <ErrorText error={error} />
      </span>
    );
  }
  return (
    <form className="confirm" aria-label={props.label} onSubmit={submit}>
      {props.question ? <span>{props.question}</span> : null}
      <Field label={props.field}>
        {props.load ? (
          <select value={value} onChange={(e) => setValue(e.target.value)} required disabled={!choices}>
            {(choices ?? []).map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        ) : (
          <input value={value} onChange={(e) => setValue(e.target.value)} required />
        )}
      </Field>
      <button type="submit" className={props.question ? 'danger' : undefined} disabled={busy}>
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorText error={error} />
    </form>
  );
}

/** The flavors a server may be resized to: every one but its own (Nova refuses a resize to the same). */
const loadFlavors = async (current: string | undefined): Promise<Choice[]> => {
  const { flavors } = await call<{ flavors: { id: string; name: string; ram: number }[] }>(
    'compute',
    '/v2.1/flavors/detail',
  );
  return flavors
    .filter((f) => f.name !== current)
    .sort((a, b) => a.ram - b.ram || a.name.localeCompare(b.name))
    .map((f) => ({ value: f.id, label: f.name }));
};

const loadImages = async (): Promise<Choice[]> => {
  const { images } = await call<{ images: { id: string; name: string | null }[] }>(
    'image',
    '/v2/images?status=active&limit=1000',
  );
  return images.map((i) => ({ value: i.id, label: i.name ?? i.id }));
};

/** Statuses in which Nova accepts each action (its check_instance_state), task state aside. */
const ALLOWED: Record<string, string[]> = {
  start: ['SHUTOFF'],
  stop: ['ACTIVE', 'ERROR'],
  reboot: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'ERROR'],
  pause: ['ACTIVE'],
  unpause: ['PAUSED'],
  suspend: ['ACTIVE'],
  resume: ['SUSPENDED'],
  shelve: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'],
  unshelve: ['SHELVED', 'SHELVED_OFFLOADED'],
  rescue: ['ACTIVE', 'SHUTOFF', 'ERROR'],
  unrescue: ['RESCUE'],
  resize: ['ACTIVE', 'SHUTOFF'],
  verifyResize: ['VERIFY_RESIZE'],
  rebuild: ['ACTIVE', 'SHUTOFF', 'ERROR'],
  createImage: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'SHELVED', 'SHELVED_OFFLOADED'],
  migrate: ['ACTIVE', 'SHUTOFF'],
  liveMigrate: ['ACTIVE', 'PAUSED'],
};

/** The actions valid for `server` now: none but delete while a task runs on it. */
export function validActions(server: ActionableServer): Set<string> {
  if (server['OS-EXT-STS:task_state']) return new Set();
  return new Set(Object.keys(ALLOWED).filter((action) => ALLOWED[action]!.includes(server.status)));
}

export function ServerActions({
  server,
  onDone,
  full = false,
  admin = false,
}: {
  server: ActionableServer;
  onDone: () => void;
  /** Every action (the server's own page), not just start/stop/reboot/delete (the list). */
  full?: boolean;
  /** Whether to offer the admin-only actions (migrations). */
  admin?: boolean;
}) {
  const can = validActions(server);
  const act = (body: unknown) => () => serverAction(server.id, body).then(onDone);
  const simple = (action: string, label: string, body: unknown) =>
    can.has(action) ? <ActionButton label={label} run={act(body)} /> : null;
  const confirm = (action: string, label: string, question: string, body: unknown) =>
    can.has(action) ? <ConfirmButton label={label} question={question} onConfirm={act(body)} /> : null;
  return (
    <span className="actions" role="group" aria-label={`Actions on ${server.name}`}>
      {simple('start', 'Start', { 'os-start': null })}
      {simple('stop', 'Stop', { 'os-stop': null })}
      {simple('reboot', 'Reboot', { reboot: { type: 'SOFT' } })}
      {full ? (
        <>
          {simple('pause', 'Pause', { pause: null })}
          {simple('unpause', 'Unpause', { unpause: null })}
          {simple('suspend', 'Suspend', { suspend: null })}
          {simple('resume', 'Resume', { resume: null })}
          {server['OS-EXT-STS:task_state'] ? null : server.locked ? (
            <ActionButton label="Unlock" run={act({ unlock: null })} />
          ) : (
            <ActionButton label="Lock" run={act({ lock: null })} />
          )}
          {confirm('shelve', 'Shelve', `Shelve ${server.name}? It stops and its host lets it go.`, { shelve: null })}
          {simple('unshelve', 'Unshelve', { unshelve: null })}
          {confirm('rescue', 'Rescue', `Rescue ${server.name}? It restarts from a rescue disk.`, { rescue: null })}
          {simple('unrescue', 'Unrescue', { unrescue: null })}
          {can.has('resize') ? (
            <ChoiceButton
              label="Resize"
              field="New flavor"
              question={`Resize ${server.name}? It restarts.`}
              load={() => loadFlavors(server.flavor?.original_name)}
              run={(flavorRef) => serverAction(server.id, { resize: { flavorRef } }).then(onDone)}
            />
          ) : null}
          {simple('verifyResize', 'Confirm resize', { confirmResize: null })}
          {simple('verifyResize', 'Revert resize', { revertResize: null })}
          {can.has('rebuild') ? (
            <ChoiceButton
              label="Rebuild"
              field="Image"
              question={`Rebuild ${server.name}? Its disk is replaced by the image's.`}
              load={loadImages}
              run={(imageRef) => serverAction(server.id, { rebuild: { imageRef } }).then(onDone)}
            />
          ) : null}
          {can.has('createImage') ? (
            <ChoiceButton
              label="Create snapshot"
              field="Snapshot name"
              run={(name) => serverAction(server.id, { createImage: { name } }).then(onDone)}
            />
          ) : null}
          {admin ? simple('migrate', 'Migrate', { migrate: null }) : null}
          {admin
            ? simple('liveMigrate', 'Live migrate', { 'os-migrateLive': { host: null, block_migration: 'auto' } })
            : null}
        </>
      ) : null}
      <ConfirmButton
        label="Delete"
        question={`Delete ${server.name}?`}
        onConfirm={() => call('compute', `/v2.1/servers/${server.id}`, { method: 'DELETE' }).then(onDone)}
      />
    </span>
  );
}

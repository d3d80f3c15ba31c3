import { memo, useEffect, useRef, useState, type FormEvent } from 'react';
import { call } from '../api.ts';
import { ErrorText, Field, Page, Table } from '../components.tsx';
import { usePoll } from '../hooks.ts';
import { ServerActions } from './server-actions.tsx';

export interface Server {
  id: string;
  name: string;
  status: string;
  updated: string;
  addresses: Record<string, { addr: string; version: number }[]>;
  flavor: { original_name?: string; vcpus?: number; ram?: number; disk?: number };
  'OS-EXT-STS:task_state'?: string | null;
  locked?: boolean;
  'STRATUS-EXT-STORAGE:tier'?: string;
}

/** The storage tiers a server's disk may ask for (Stratus's storage-tier extension). */
const STORAGE_TIERS = ['hdd', 'ssd', 'pcie_ssd'];
/** How often the list asks what changed: a state change shows within two seconds. */
const POLL_MS = 1500;

export function addressList(server: Server): string {
  return Object.entries(server.addresses ?? {})
    .flatMap(([network, addrs]) => addrs.map((a) => `${network}: ${a.addr}`))
    .join(', ');
}

/**
 * The project's servers, kept current by asking only for what changed since the newest `updated` seen
 * (`changes-since`, which also returns servers deleted since, as DELETED): one cheap request per poll
 * whatever the number of servers.
 */
function useLiveServers() {
  const servers = useRef(new Map<string, Server>());
  const since = useRef<string | null>(null);
  const sorted = useRef<Server[]>([]);
  const poll = usePoll(async () => {
    const query = since.current ? `?changes-since=${encodeURIComponent(since.current)}` : '';
    const { servers: changed } = await call<{ servers: Server[] }>('compute', `/v2.1/servers/detail${query}`, {
      extensions: ['storage-tier'],
    });
    if (!since.current) servers.current.clear();
    let moved = since.current === null;
    for (const server of changed) {
      const known = servers.current.get(server.id);
      if (server.status === 'DELETED') moved = servers.current.delete(server.id) || moved;
      // changes-since is inclusive: the newest server comes back every time, unchanged.
      else if (!known || JSON.stringify(known) !== JSON.stringify(server)) {
        servers.current.set(server.id, server);
        moved = true;
      }
      if (!since.current || server.updated > since.current) since.current = server.updated;
    }
    // Nothing changed: the same array and row objects, so React redraws nothing (thousands of rows stay cheap).
    if (!moved) return sorted.current;
    sorted.current = [...servers.current.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
    );
    return sorted.current;
  }, POLL_MS);
  return poll;
}

/** One server's row; redrawn only when that server changed (a poll gives unchanged servers the same object). */
const ServerRow = memo(function ServerRow({ server: s, onDone }: { server: Server; onDone: () => void }) {
  return (
    <tr data-server={s.name}>
      <td>
        <a href={`#/servers/${s.id}`}>{s.name}</a>
      </td>
      <td className={`status status-${s.status.toLowerCase()}`}>{s.status}</td>
      <td>{s['OS-EXT-STS:task_state'] ?? ''}</td>
      <td>{s.flavor?.original_name ?? ''}</td>
      <td>{s['STRATUS-EXT-STORAGE:tier'] ?? ''}</td>
      <td>{addressList(s)}</td>
      <td>
        <ServerActions server={s} onDone={onDone} />
      </td>
    </tr>
  );
});

export function Servers() {
  const { data, error, refresh } = useLiveServers();
  const [launching, setLaunching] = useState(false);
  return (
    <Page title="Servers">
      <p>
        <button type="button" onClick={() => setLaunching(!launching)} aria-expanded={launching}>
          Launch server
        </button>
      </p>
      {launching ? (
        <LaunchForm
          onLaunched={() => {
            setLaunching(false);
            refresh();
          }}
        />
      ) : null}
      <ErrorText error={error} />
      {data === null ? (
        <p>Loading…</p>
      ) : data.length === 0 ? (
        <p>No servers in this project.</p>
      ) : (
        <Table label="Servers" columns={['Name', 'Status', 'Task', 'Flavor', 'Storage tier', 'Addresses', 'Actions']}>
          {data.map((s) => (
            <ServerRow key={s.id} server={s} onDone={refresh} />
          ))}
        </Table>
      )}
    </Page>
  );
}

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}
interface Image {
  id: string;
  name: string | null;
  status: string;
}
interface Limits {
  absolute: Record<string, number>;
}

/** UTF-8 text as base64, as Nova takes user data. */
function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function LaunchForm({ onLaunched }: { onLaunched: () => void }) {
  const [choices, setChoices] = useState<{
    flavors: Flavor[];
    images: Image[];
    keypairs: string[];
    networks: { id: string; name: string }[];
    securityGroups: string[];
    limits: Limits['absolute'];
  } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [form, setForm] = useState({
    name: '',
    image: '',
    flavor: '',
    tier: '',
    count: 1,
    keypair: '',
    network: 'none',
    userData: '',
    securityGroups: ['default'],
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    Promise.all([
      call<{ flavors: Flavor[] }>('compute', '/v2.1/flavors/detail'),
      call<{ images: Image[] }>('image', '/v2/images?status=active&limit=1000'),
      call<{ keypairs: { keypair: { name: string } }[] }>('compute', '/v2.1/os-keypairs'),
      call<{ limits: Limits }>('compute', '/v2.1/limits'),
      call<{ networks: { id: string; name: string }[] }>('network', '/v2.0/networks'),
      call<{ security_groups: { name: string }[] }>('network', '/v2.0/security-groups?fields=name'),
    ])
      .then(([f, i, k, l, n, g]) => {
        setChoices({
          flavors: f.flavors.sort((a, b) => a.ram - b.ram || a.name.localeCompare(b.name)),
          images: i.images,
          keypairs: k.keypairs.map((x) => x.keypair.name),
          limits: l.limits.absolute,
          networks: n.networks,
          // Names, as Nova takes them; a project's groups may share one, which is then asked for once.
          securityGroups: [...new Set(g.security_groups.map((x) => x.name))].sort(),
        });
        setForm((old) => ({
          ...old,
          image: i.images[0]?.id ?? '',
          flavor: f.flavors[0]?.id ?? '',
          network: n.networks[0]?.id ?? 'none',
        }));
      })
      .catch((err: Error) => setLoadError(err.message));
  }, []);
  if (loadError) return <ErrorText error={loadError} />;
  if (!choices) return <p>Loading the launch form…</p>;
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: key === 'count' ? Number(e.target.value) : e.target.value });
  const flavor = choices.flavors.find((f) => f.id === form.flavor);
  const limit = (max: string, used: string) => {
    const total = choices.limits[max] ?? -1;
    return total < 0 ? 'unlimited' : `${total - (choices.limits[used] ?? 0)} left`;
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const server: Record<string, unknown> = {
      name: form.name,
      imageRef: form.image,
      flavorRef: form.flavor,
      min_count: form.count,
      max_count: form.count,
      networks: form.network === 'none' ? 'none' : [{ uuid: form.network }],
    };
    if (form.tier) server.instance_disk_type = form.tier;
    if (form.keypair) server.key_name = form.keypair;
    if (form.userData) server.user_data = base64(form.userData);
    if (form.securityGroups.length) server.security_groups = form.securityGroups.map((name) => ({ name }));
    call('compute', '/v2.1/servers', { body: { server }, extensions: form.tier ? ['storage-tier'] : [] })
      .then(() => {
        setError(null);
        onLaunched();
      })
      .catch((err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  return (
    <form className="panel" onSubmit={submit} aria-label="Launch server">
      <Field label="Name">
        <input name="name" value={form.name} onChange={set('name')} required />
      </Field>
      <Field label="Image">
        <select name="image" value={form.image} onChange={set('image')} required>
          {choices.images.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name ?? i.id}
            </option>
          ))}
        </select>
      </Field>
      <Field
        label="Flavor"
        hint={flavor ? `${flavor.vcpus} vCPUs, ${flavor.ram} MiB RAM, ${flavor.disk} GiB disk` : undefined}
      >
        <select name="flavor" value={form.flavor} onChange={set('flavor')} required>
          {choices.flavors.map((f) => (
            <option key={f.id} value={f.id}>
              {f.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Storage tier" hint="Where the server's disk goes; the cloud's default if not chosen.">
        <select name="tier" value={form.tier} onChange={set('tier')}>
          <option value="">(default)</option>
          {STORAGE_TIERS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </Field>
      <Field
        label="Count"
        hint={
          `Quota: ${limit('maxTotalInstances', 'totalInstancesUsed')} servers, ` +
          `${limit('maxTotalCores', 'totalCoresUsed')} vCPUs, ${limit('maxTotalRAMSize', 'totalRAMUsed')} MiB RAM`
        }
      >
        <input name="count" type="number" min={1} value={form.count} onChange={set('count')} required />
      </Field>
      <Field label="Network">
        <select name="network" value={form.network} onChange={set('network')}>
          {choices.networks.map((n) => (
            <option key={n.id} value={n.id}>
              {n.name || n.id}
            </option>
          ))}
          <option value="none">(no network)</option>
        </select>
      </Field>
      <Field label="Security groups" hint="The firewall rules of its ports; several may be chosen.">
        <select
          name="securityGroups"
          multiple
          value={form.securityGroups}
          onChange={(e) =>
            setForm({ ...form, securityGroups: [...e.target.selectedOptions].map((option) => option.value) })
          }
        >
          {choices.securityGroups.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Key pair">
        <select name="keypair" value={form.keypair} onChange={set('keypair')}>
          <option value="">(none)</option>
          {choices.keypairs.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </Field>
      <Field label="User data" hint="Given to the guest as is (cloud-init reads it).">
        <textarea name="userData" value={form.userData} onChange={set('userData')} rows={4} />
      </Field>
      <button type="submit" disabled={busy}>
        Launch
      </button>
      <ErrorText error={error} />
    </form>
  );
}

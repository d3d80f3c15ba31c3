/** Operator pages beyond the hosts: flavors, aggregates and zones, identity, every project's servers, usage. */
import { useState, type FormEvent } from 'react';
import { call } from '../api.ts';
import { ConfirmButton, ErrorText, Field, Page, Table, UsageBar } from '../components.tsx';
import { usePoll } from '../hooks.ts';
import type { Flavor } from './servers.tsx';

interface AdminFlavor extends Flavor {
  'os-flavor-access:is_public': boolean;
}

export function Flavors() {
  const { data, error, refresh } = usePoll(async () => {
    const { flavors } = await call<{ flavors: AdminFlavor[] }>('compute', '/v2.1/flavors/detail?is_public=None');
    return flavors.sort((a, b) => a.ram - b.ram || a.name.localeCompare(b.name));
  }, 5000);
  const [form, setForm] = useState({ name: '', vcpus: 1, ram: 512, disk: 1 });
  const [formError, setFormError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    call('compute', '/v2.1/flavors', { body: { flavor: form } })
      .then(() => {
        setFormError(null);
        setForm({ ...form, name: '' });
        refresh();
      })
      .catch((err: Error) => setFormError(err.message));
  };
  const number = (key: 'vcpus' | 'ram' | 'disk') => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: Number(e.target.value) });
  return (
    <Page title="Flavors">
      <ErrorText error={error} />
      <Table label="Flavors" columns={['Name', 'vCPUs', 'Memory (MiB)', 'Disk (GiB)', 'Public', 'Actions']}>
        {(data ?? []).map((f) => (
          <tr key={f.id} data-flavor={f.name}>
            <td>{f.name}</td>
            <td>{f.vcpus}</td>
            <td>{f.ram}</td>
            <td>{f.disk}</td>
            <td>{f['os-flavor-access:is_public'] ? 'yes' : 'no'}</td>
            <td>
              <ConfirmButton
                label="Delete"
                question={`Delete the flavor ${f.name}?`}
                onConfirm={() => call('compute', `/v2.1/flavors/${f.id}`, { method: 'DELETE' }).then(refresh)}
              />
            </td>
          </tr>
        ))}
      </Table>
      <form className="panel" onSubmit={submit} aria-label="Create a flavor">
        <Field label="Flavor name">
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
        </Field>
        <Field label="vCPUs">
          <input type="number" min={1} value={form.vcpus} onChange={number('vcpus')} />
        </Field>
        <Field label="Memory (MiB)">
          <input type="number" min={1} value={form.ram} onChange={number('ram')} />
        </Field>
        <Field label="Disk (GiB)">
          <input type="number" min={0} value={form.disk} onChange={number('disk')} />
        </Field>
        <button type="submit">Create flavor</button>
        <ErrorText error={formError} />
      </form>
    </Page>
  );
}

interface Aggregate {
  id: number;
  name: string;
  availability_zone: string | null;
  hosts: string[];
  metadata: Record<string, string>;
}

interface Zone {
  zoneName: string;
  zoneState: { available: boolean };
  hosts: Record<string, Record<string, { available: boolean; active: boolean }>> | null;
}

export function AggregatesAndZones() {
  const { data, error } = usePoll(async () => {
    const [{ aggregates }, { availabilityZoneInfo }] = await Promise.all([
      call<{ aggregates: Aggregate[] }>('compute', '/v2.1/os-aggregates'),
      call<{ availabilityZoneInfo: Zone[] }>('compute', '/v2.1/os-availability-zone/detail'),
    ]);
    return { aggregates, zones: availabilityZoneInfo };
  }, 5000);
  return (
    <Page title="Aggregates and zones">
      <ErrorText error={error} />
      <h2>Availability zones</h2>
      <Table label="Availability zones" columns={['Zone', 'Available', 'Hosts']}>
        {(data?.zones ?? []).map((z) => (
          <tr key={z.zoneName}>
            <td>{z.zoneName}</td>
            <td>{z.zoneState.available ? 'yes' : 'no'}</td>
            <td>{Object.keys(z.hosts ?? {}).join(', ')}</td>
          </tr>
        ))}
      </Table>
      <h2>Host aggregates</h2>
      <Table label="Host aggregates" columns={['Name', 'Zone', 'Hosts', 'Metadata']}>
        {(data?.aggregates ?? []).map((a) => (
          <tr key={a.id}>
            <td>{a.name}</td>
            <td>{a.availability_zone ?? ''}</td>
            <td>{a.hosts.join(', ')}</td>
            <td>
              {Object.entries(a.metadata)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}
            </td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

interface Assignment {
  role: { name: string };
  user?: { name: string };
  scope: { project?: { name: string }; domain?: { name: string } };
}

export function Identity() {
  const { data, error } = usePoll(async () => {
    const [{ projects }, { users }, { role_assignments }] = await Promise.all([
      call<{ projects: { id: string; name: string; enabled: boolean; description: string }[] }>(
        'identity',
        '/v3/projects',
      ),
      call<{ users: { id: string; name: string; enabled: boolean }[] }>('identity', '/v3/users'),
      call<{ role_assignments: Assignment[] }>('identity', '/v3/role_assignments?include_names=true'),
    ]);
    return { projects, users, assignments: role_assignments };
  }, 5000);
  return (
    <Page title="Projects and users">
      <ErrorText error={error} />
      <h2>Projects</h2>
      <Table label="Projects" columns={['Name', 'Enabled', 'Description']}>
        {(data?.projects ?? []).map((p) => (
          <tr key={p.id}>
            <td>{p.name}</td>
            <td>{p.enabled ? 'yes' : 'no'}</td>
            <td>{p.description}</td>
          </tr>
        ))}
      </Table>
      <h2>Users</h2>
      <Table label="Users" columns={['Name', 'Enabled']}>
        {(data?.users ?? []).map((u) => (
          <tr key={u.id}>
            <td>{u.name}</td>
            <td>{u.enabled ? 'yes' : 'no'}</td>
          </tr>
        ))}
      </Table>
      <h2>Role assignments</h2>
      <Table label="Role assignments" columns={['User', 'Role', 'On']}>
        {(data?.assignments ?? []).map((a) => {
          const on = a.scope.project ? `project ${a.scope.project.name}` : `domain ${a.scope.domain?.name ?? ''}`;
          return (
            <tr key={`${a.user?.name ?? ''}/${a.role.name}/${on}`}>
              <td>{a.user?.name ?? ''}</td>
              <td>{a.role.name}</td>
              <td>{on}</td>
            </tr>
          );
        })}
      </Table>
    </Page>
  );
}

interface AnyServer {
  id: string;
  name: string;
  status: string;
  tenant_id: string;
  'OS-EXT-SRV-ATTR:host': string | null;
}

export function AllServers() {
  const { data, error } = usePoll(async () => {
    const [{ servers }, { projects }] = await Promise.all([
      call<{ servers: AnyServer[] }>('compute', '/v2.1/servers/detail?all_tenants=1&limit=1000'),
      call<{ projects: { id: string; name: string }[] }>('identity', '/v3/projects'),
    ]);
    const names = new Map(projects.map((p) => [p.id, p.name]));
    return servers.map((s) => ({ ...s, project: names.get(s.tenant_id) ?? s.tenant_id }));
  }, 3000);
  return (
    <Page title="All servers">
      <ErrorText error={error} />
      <Table label="Servers of every project" columns={['Name', 'Project', 'Status', 'Host']}>
        {(data ?? []).map((s) => (
          <tr key={s.id} data-server={s.name}>
            <td>{s.name}</td>
            <td>{s.project}</td>
            <td className={`status status-${s.status.toLowerCase()}`}>{s.status}</td>
            <td>{s['OS-EXT-SRV-ATTR:host'] ?? ''}</td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

interface TenantUsage {
  tenant_id: string;
  total_hours: number;
  total_vcpus_usage: number;
  total_memory_mb_usage: number;
  total_local_gb_usage: number;
}

/** Usage of every project over the last 30 days (os-simple-tenant-usage), as bars against the largest. */
export function Usage() {
  const { data, error } = usePoll(async () => {
    const end = new Date();
    const start = new Date(end.getTime() - 30 * 24 * 3600 * 1000);
    const iso = (d: Date) => d.toISOString().replace(/Z$/, '');
    const [{ tenant_usages }, { projects }] = await Promise.all([
      call<{ tenant_usages: TenantUsage[] }>(
        'compute',
        `/v2.1/os-simple-tenant-usage?detailed=0&start=${iso(start)}&end=${iso(end)}`,
      ),
      call<{ projects: { id: string; name: string }[] }>('identity', '/v3/projects'),
    ]);
    const names = new Map(projects.map((p) => [p.id, p.name]));
    return tenant_usages.map((u) => ({ ...u, project: names.get(u.tenant_id) ?? u.tenant_id }));
  }, 10000);
  const most = (key: keyof TenantUsage) => Math.max(1, ...(data ?? []).map((u) => Number(u[key])));
  const round = (n: number) => Math.round(n * 10) / 10;
  return (
    <Page title="Usage per project">
      <p>The last 30 days.</p>
      <ErrorText error={error} />
      <div className="cards">
        {(data ?? []).map((u) => (
          <article key={u.tenant_id} className="panel" aria-label={`Usage of ${u.project}`}>
            <h2>{u.project}</h2>
            <UsageBar label="vCPU hours" used={round(u.total_vcpus_usage)} total={round(most('total_vcpus_usage'))} />
            <UsageBar
              label="Memory hours"
              used={round(u.total_memory_mb_usage)}
              total={round(most('total_memory_mb_usage'))}
              unit="MiB·h"
            />
            <UsageBar
              label="Disk hours"
              used={round(u.total_local_gb_usage)}
              total={round(most('total_local_gb_usage'))}
              unit="GiB·h"
            />
          </article>
        ))}
      </div>
    </Page>
  );
}

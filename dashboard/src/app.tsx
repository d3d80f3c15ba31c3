import { useEffect, useState, type FormEvent } from 'react';
import { useToken } from './api.ts';
import { ErrorText, Field } from './components.tsx';
import { navigate, useRoute } from './hooks.ts';
import { AggregatesAndZones, AllServers, Flavors, Identity, Usage } from './pages/admin-cloud.tsx';
import { Hypervisors, ComputeServices } from './pages/admin.tsx';
import { Images } from './pages/images.tsx';
import { KeyPairs } from './pages/keypairs.tsx';
import { Overview } from './pages/overview.tsx';
import { ServerDetail } from './pages/server-detail.tsx';
import { Servers } from './pages/servers.tsx';
import {
  clearSession,
  isAdmin,
  loadSession,
  logIn,
  rememberProject,
  saveSession,
  scopeTo,
  type Session,
} from './session.ts';

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [ended, setEnded] = useState<string | null>(null);
  const end = (why: string) => {
    clearSession();
    useToken(null);
    setSession(null);
    setEnded(why);
  };
  // Synchronously, so that the first render's calls carry the token.
  useToken(session?.token ?? null, (message) => end(`Your session ended: ${message}`));
  useEffect(() => {
    if (!session) return;
    const expiresAt = Date.parse(session.expiresAt);
    let timer: ReturnType<typeof setTimeout>;
    // Checked again at most a day apart: a timer's delay above 2^31-1 ms (24.8 days) fires at once.
    const check = () => {
      const left = expiresAt - Date.now();
      if (left <= 0) end(`Your session ended: the token expired at ${new Date(expiresAt).toLocaleString()}.`);
      else timer = setTimeout(check, Math.min(left, 24 * 3600 * 1000));
    };
    check();
    return () => clearTimeout(timer);
  }, [session]);
  const begin = (s: Session) => {
    saveSession(s);
    rememberProject(s);
    setEnded(null);
    setSession(s);
  };
  if (!session) return <Login notice={ended} onLogin={begin} />;
  return <Shell session={session} onSwitch={begin} onLogout={() => end('You logged out.')} />;
}

function Login(props: { notice: string | null; onLogin: (session: Session) => void }) {
  const [domain, setDomain] = useState('Default');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    logIn(domain, user, password)
      .then(props.onLogin)
      .catch((err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  return (
    <main className="login">
      <h1>Stratus</h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      <form onSubmit={submit} aria-label="Log in">
        <Field label="Domain">
          <input name="domain" value={domain} onChange={(e) => setDomain(e.target.value)} required />
        </Field>
        <Field label="User name">
          <input name="user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} required />
        </Field>
        <Field label="Password">
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </Field>
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <ErrorText error={error} />
      </form>
    </main>
  );
}

const USER_PAGES = [
  ['overview', 'Overview'],
  ['servers', 'Servers'],
  ['images', 'Images'],
  ['keypairs', 'Key pairs'],
] as const;
const ADMIN_PAGES = [
  ['admin/hypervisors', 'Hypervisors'],
  ['admin/services', 'Compute services'],
  ['admin/aggregates', 'Aggregates and zones'],
  ['admin/flavors', 'Flavors'],
  ['admin/identity', 'Projects and users'],
  ['admin/servers', 'All servers'],
  ['admin/usage', 'Usage'],
] as const;

function Shell(props: { session: Session; onSwitch: (s: Session) => void; onLogout: () => void }) {
  const { session } = props;
  const route = useRoute();
  const [switchError, setSwitchError] = useState<string | null>(null);
  const admin = isAdmin(session);
  const here = route.join('/') || 'servers';
  const links = [...USER_PAGES, ...(admin ? ADMIN_PAGES : [])];
  return (
    <>
      <header>
        <strong>Stratus</strong>
        <nav aria-label="Pages">
          {links.map(([path, label]) => (
            <a key={path} href={`#/${path}`} aria-current={here.startsWith(path) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <label className="project">
          <span>Project</span>
          <select
            value={session.project.id}
            onChange={(e) => {
              const project = session.projects.find((p) => p.id === e.target.value);
              if (!project) return;
              scopeTo(session.unscopedToken, project, session.projects)
                .then((s) => {
                  setSwitchError(null);
                  props.onSwitch(s);
                })
                .catch((err: Error) => setSwitchError(err.message));
            }}
          >
            {session.projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <span className="who">
          {session.user.name} ({session.user.domain})
        </span>
        <button type="button" onClick={props.onLogout}>
          Log out
        </button>
      </header>
      <ErrorText error={switchError} />
      <main key={session.project.id}>
        <Content route={route} session={session} />
      </main>
    </>
  );
}

function Content({ route, session }: { route: string[]; session: Session }) {
  const [page = 'servers', id] = route;
  switch (page) {
    case 'servers':
      return id ? <ServerDetail id={id} admin={isAdmin(session)} /> : <Servers />;
    case 'images':
      return <Images session={session} />;
    case 'keypairs':
      return <KeyPairs />;
    case 'overview':
      return <Overview projectName={session.project.name} />;
    case 'admin':
      if (!isAdmin(session)) {
        return (
          <p role="alert" className="error">
            The admin pages need the admin role in the current project.
          </p>
        );
      }
      return <AdminPage name={id} />;
    default:
      navigate('servers');
      return null;
  }
}

function AdminPage({ name }: { name: string | undefined }) {
  switch (name) {
    case 'services':
      return <ComputeServices />;
    case 'aggregates':
      return <AggregatesAndZones />;
    case 'flavors':
      return <Flavors />;
    case 'identity':
      return <Identity />;
    case 'servers':
      return <AllServers />;
    case 'usage':
      return <Usage />;
    default:
      return <Hypervisors />;
  }
}

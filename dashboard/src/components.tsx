import { useState, type ReactNode } from 'react';

/** An API's error, in its own words, where the action that caused it is. */
export function ErrorText({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

/** Runs an API call at a time: `busy` while it runs, then its error (or none). */
function useRunner() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = (action: () => Promise<unknown>, then?: () => void) => {
    setBusy(true);
    action()
      .then(() => setError(null))
      .catch((err: Error) => setError(err.message))
      .finally(() => {
        setBusy(false);
        then?.();
      });
  };
  return { busy, error, run };
}

/**
 * A button for an action that destroys something: the first click asks, the second does it. Errors of
 * the action are shown beside it.
 */
export function ConfirmButton(props: { label: string; question: string; onConfirm: () => Promise<unknown> }) {
  const [asking, setAsking] = useState(false);
  const { busy, error, run } = useRunner();
  if (!asking) {
    return (
      <span>
        <button type="button" className="danger" onClick={() => setAsking(true)}>
          {props.label}
        </button>
        <ErrorText error={error} />
      </span>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={props.question}>
      <span>{props.question}</span>
      <button
        type="button"
        className="danger"
        disabled={busy}
        onClick={() => run(props.onConfirm, () => setAsking(false))}
      >
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** A button that runs an API call, disabled while it runs, its error beside it. */
export function ActionButton(props: { label: string; run: () => Promise<unknown> }) {
  const { busy, error, run } = useRunner();
  return (
    <span>
      <button type="button" disabled={busy} onClick={() => run(props.run)}>
        {props.label}
      </button>
      <ErrorText error={error} />
    </span>
  );
}

/** A used/total bar (capacity, quota). */
export function UsageBar(props: { label: string; used: number; total: number; unit?: string }) {
  const fraction = props.total > 0 ? Math.min(1, props.used / props.total) : 0;
  const text = `${props.label}: ${props.used} of ${props.total}${props.unit ? ` ${props.unit}` : ''} used`;
  return (
    <div className="usage">
      <span>{text}</span>
      <div
        className={`bar${fraction > 0.9 ? ' full' : ''}`}
        role="meter"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={props.total}
        aria-valuenow={props.used}
        aria-valuetext={text}
      >
        <div style={{ width: `${fraction * 100}%` }} />
      </div>
    </div>
  );
}

export function Page(props: { title: string; children: ReactNode }) {
  return (
    <section>
      <h1>{props.title}</h1>
      {props.children}
    </section>
  );
}

/** A label wrapping its field, so that every field has an accessible name. */
export function Field(props: { label: string; children: ReactNode; hint?: string }) {
  return (
    <label className="field">
      <span>{props.label}</span>
      {props.children}
      {props.hint ? <small>{props.hint}</small> : null}
    </label>
  );
}

/** A table with a header row of `columns` and `children` as its body rows. */
export function Table(props: { label: string; columns: string[]; children: ReactNode }) {
  return (
    <table aria-label={props.label}>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

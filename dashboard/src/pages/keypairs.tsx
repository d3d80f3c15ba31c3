import { useState, type FormEvent } from 'react';
import { call } from '../api.ts';
import { ConfirmButton, ErrorText, Field, Page, Table } from '../components.tsx';
import { usePoll } from '../hooks.ts';

interface KeyPair {
  name: string;
  fingerprint: string;
  type?: string;
  private_key?: string;
}

/** Hands `text` to the browser as a file download: the private key exists nowhere else afterwards. */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function KeyPairs() {
  const list = usePoll(async () => {
    const { keypairs } = await call<{ keypairs: { keypair: KeyPair }[] }>('compute', '/v2.1/os-keypairs');
    return keypairs.map((k) => k.keypair);
  }, 10_000);
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const keypair: Record<string, string> = { name, type: 'ssh' };
    if (publicKey.trim()) keypair.public_key = publicKey.trim();
    call<{ keypair: KeyPair }>('compute', '/v2.1/os-keypairs', { body: { keypair } })
      .then(({ keypair: made }) => {
        setError(null);
        if (made.private_key) {
          download(`${made.name}.pem`, made.private_key);
          setNotice(
            `Created ${made.name}: its private key was downloaded as ${made.name}.pem. The cloud keeps no copy.`,
          );
        } else setNotice(`Imported ${made.name} (${made.fingerprint}).`);
        setName('');
        setPublicKey('');
        list.refresh();
      })
      .catch((err: Error) => setError(err.message));
  };
  return (
    <Page title="Key pairs">
      <form className="panel" onSubmit={submit} aria-label="Create or import a key pair">
        <Field label="Key pair name">
          <input name="keypair-name" value={name} onChange={(e) => setName(e.target.value)} required />
        </Field>
        <Field label="Public key" hint="Leave empty to have the cloud make a pair; its private key downloads once.">
          <textarea name="public-key" rows={3} value={publicKey} onChange={(e) => setPublicKey(e.target.value)} />
        </Field>
        <button type="submit">{publicKey.trim() ? 'Import key pair' : 'Create key pair'}</button>
        <ErrorText error={error} />
        {notice ? <p role="status">{notice}</p> : null}
      </form>
      <ErrorText error={list.error} />
      <Table label="Key pairs" columns={['Name', 'Type', 'Fingerprint', 'Actions']}>
        {(list.data ?? []).map((k) => (
          <tr key={k.name}>
            <td>{k.name}</td>
            <td>{k.type ?? 'ssh'}</td>
            <td>
              <code>{k.fingerprint}</code>
            </td>
            <td>
              <ConfirmButton
                label="Delete"
                question={`Delete key pair ${k.name}?`}
                onConfirm={() =>
                  call('compute', `/v2.1/os-keypairs/${encodeURIComponent(k.name)}`, { method: 'DELETE' }).then(
                    list.refresh,
                  )
                }
              />
            </td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

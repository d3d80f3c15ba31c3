import { useState, type FormEvent } from 'react';
import { call, upload } from '../api.ts';
import { ConfirmButton, ErrorText, Field, Page, Table } from '../components.tsx';
import { usePoll } from '../hooks.ts';
import type { Session } from '../session.ts';

interface Image {
  id: string;
  name: string | null;
  status: string;
  size: number | null;
  disk_format: string | null;
  visibility: string;
  owner: string | null;
}

const DISK_FORMATS = ['raw', 'qcow2', 'iso', 'vmdk', 'vdi', 'vhd', 'vhdx', 'ami', 'ari', 'aki'];

function size(bytes: number | null): string {
  if (bytes === null) return '';
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function Images({ session }: { session: Session }) {
  const list = usePoll(async () => {
    const { images } = await call<{ images: Image[] }>('image', '/v2/images?limit=1000');
    return images;
  }, 5000);
  return (
    <Page title="Images">
      <UploadForm onDone={list.refresh} />
      <ErrorText error={list.error} />
      <Table label="Images" columns={['Name', 'Status', 'Format', 'Size', 'Visibility', 'Actions']}>
        {(list.data ?? []).map((i) => (
          <tr key={i.id} data-image={i.name ?? i.id}>
            <td>{i.name ?? i.id}</td>
            <td>{i.status}</td>
            <td>{i.disk_format ?? ''}</td>
            <td>{size(i.size)}</td>
            <td>{i.visibility}</td>
            <td>
              {i.owner === session.project.id ? (
                <ConfirmButton
                  label="Delete"
                  question={`Delete image ${i.name ?? i.id}?`}
                  onConfirm={() => call('image', `/v2/images/${i.id}`, { method: 'DELETE' }).then(list.refresh)}
                />
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

/** Creates the image record, then uploads the file into it with a progress bar. */
function UploadForm({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [format, setFormat] = useState('raw');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setProgress(0);
    call<Image>('image', '/v2/images', { body: { name, disk_format: format, container_format: 'bare' } })
      .then(async (image) => {
        onDone();
        await upload(image.id, file, setProgress);
        setProgress(1);
        setError(null);
        onDone();
      })
      .catch((err: Error) => {
        setProgress(null);
        setError(err.message);
      });
  };
  return (
    <form className="panel" onSubmit={submit} aria-label="Upload an image">
      <Field label="Image name">
        <input name="image-name" value={name} onChange={(e) => setName(e.target.value)} required />
      </Field>
      <Field label="Disk format">
        <select name="disk-format" value={format} onChange={(e) => setFormat(e.target.value)}>
          {DISK_FORMATS.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
      </Field>
      <Field label="File">
        <input name="image-file" type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} required />
      </Field>
      <button type="submit" disabled={progress !== null && progress < 1}>
        Upload
      </button>
      {progress !== null ? (
        <progress aria-label="Upload progress" value={progress} max={1}>
          {Math.round(progress * 100)}%
        </progress>
      ) : null}
      <ErrorText error={error} />
    </form>
  );
}

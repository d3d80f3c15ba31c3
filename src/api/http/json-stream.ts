/**
 * Large list bodies, serialized a slice at a time as they are sent.
 *
 * Why: a page of 1000 servers is a 1-2 MB JSON text. Built in one piece, that string (and the buffers
 * JSON.stringify grows on the way) is too big for V8's young generation and goes straight to the
 * large-object space, which is old generation: every few dozen such responses cost a full mark-compact
 * pause, and those pauses were the p99 of GET /servers/detail. Slices of a few dozen items are small
 * strings that die young, and the views of one slice are garbage before the next is built.
 */
import { Readable } from 'node:stream';

/** Items per serialized slice: large enough to keep chunk overhead negligible, small enough to die young. */
const SLICE = 50;

/** Below this many items the body is sent whole: streaming would only add chunked-encoding overhead. */
const STREAM_FROM = 2 * SLICE;

/** The views of one slice of a list, in its order: where the whole records behind a slice are fetched. */
export type SliceViews<T> = (slice: readonly T[]) => Promise<readonly unknown[]> | readonly unknown[];

/**
 * The body `{"<key>": [views...], ...rest}`: a plain object for short lists, a stream of JSON text for
 * long ones. `views` is called once per slice of `items` (their keys, typically), so whatever it loads
 * for a slice is garbage before the next slice is loaded. The caller sends either with `reply.send`; a
 * stream needs the JSON content type set.
 *
 * A slice that fails once the stream has begun can no longer change the status code: the stream is
 * destroyed with the error and the client sees a cut-off body, not a well-formed list.
 */
export async function listBody<T>(
  key: string,
  items: readonly T[],
  views: SliceViews<T>,
  rest: Record<string, unknown> = {},
): Promise<Record<string, unknown> | Readable> {
  if (items.length < STREAM_FROM) return { [key]: await views(items), ...rest };
  // The first slice is built before the answer is committed to a stream, so a failure there (a bad
  // filter, a database that is down) is still an error response.
  const first = sliceText(await views(items.slice(0, SLICE)));
  return Readable.from(jsonSlices(key, items, first, views, rest), { objectMode: false });
}

async function* jsonSlices<T>(
  key: string,
  items: readonly T[],
  first: string,
  views: SliceViews<T>,
  rest: Record<string, unknown>,
): AsyncGenerator<string> {
  yield `{${JSON.stringify(key)}:[${first}`;
  // A slice can come back empty (its records went away since the keys were read): no stray comma then.
  let empty = first === '';
  // The next slice is read while this one is sent: with a database across the network, its round trips
  // overlap the serialization and the socket writes instead of adding to them.
  let next = SLICE < items.length ? prefetch(views, items.slice(SLICE, 2 * SLICE)) : null;
  for (let start = SLICE; next; start += SLICE) {
    const current = await next;
    const after = start + SLICE;
    next = after < items.length ? prefetch(views, items.slice(after, after + SLICE)) : null;
    const text = sliceText(current);
    if (text === '') continue;
    yield empty ? text : `,${text}`;
    empty = false;
  }
  let tail = ']';
  for (const [name, value] of Object.entries(rest)) tail += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  yield `${tail}}`;
}

/**
 * A slice's views, read ahead of their turn. If the stream is abandoned (the client went away) before
 * they are awaited, their failure must not surface as an unhandled rejection, which ends the process.
 */
function prefetch<T>(views: SliceViews<T>, slice: readonly T[]): Promise<readonly unknown[]> {
  const loading = Promise.resolve().then(() => views(slice));
  loading.catch(() => undefined);
  return loading;
}

/** The views of a slice as JSON array members, without the array's brackets. */
function sliceText(views: readonly unknown[]): string {
  return JSON.stringify(views).slice(1, -1);
}

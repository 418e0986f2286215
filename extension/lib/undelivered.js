// The "not delivered" list: events the server refused for good (invalid, or failing alone with a server
// error again and again). They leave the queue so they cannot hold back later events, and are kept here,
// newest first, with the server's reason, so the options page can show the user what was lost.

import { withLock } from './queue.js';

export const NOT_DELIVERED_KEY = 'notDelivered';
export const MAX_NOT_DELIVERED = 200;
const MAX_REASON = 500;
const MAX_TITLE = 300;

/** One line from the server's per-field errors, e.g. {paper: {key: ['Too long.']}} -> "paper.key: Too long." */
export function describeErrors(errors, prefix = '') {
  if (typeof errors === 'string') return prefix ? `${prefix}: ${errors}` : errors;
  if (Array.isArray(errors)) {
    if (errors.every((e) => typeof e === 'string')) return describeErrors(errors.join(' '), prefix);
    return errors.map((e) => describeErrors(e, prefix)).filter(Boolean).join('; ');
  }
  if (errors && typeof errors === 'object') {
    return Object.entries(errors)
      .map(([k, v]) => describeErrors(v, prefix ? `${prefix}.${k}` : k))
      .filter(Boolean).join('; ');
  }
  return '';
}

/** The reason to show for an error answer's body ({message, errors} in the API's one error shape). */
export function reasonFromBody(body, status) {
  const details = body && body.errors ? describeErrors(body.errors) : '';
  const message = body && typeof body.message === 'string' ? body.message : '';
  return [message, details].filter(Boolean).join(' ') || `rejected by the server (${status})`;
}

const clip = (text, max) => (typeof text === 'string' && text.length > max ? `${text.slice(0, max - 1)}\u2026` : text);

/** What is kept of an event: enough to name it to the user, not its whole metadata. */
export function undeliveredEntry(event, reason, at) {
  const paper = event.paper || {};
  return {
    id: event.id,
    type: event.type,
    key: typeof paper.key === 'string' ? paper.key : null,
    title: typeof paper.title === 'string' ? clip(paper.title, MAX_TITLE) : null,
    url: typeof paper.url === 'string' ? clip(paper.url, 2048) : null,
    occurredAt: event.occurred_at || null,
    failedAt: new Date(at).toISOString(),
    reason: clip(String(reason || 'rejected by the server'), MAX_REASON),
  };
}

export async function readNotDelivered(storage) {
  const got = await storage.get(NOT_DELIVERED_KEY);
  return Array.isArray(got[NOT_DELIVERED_KEY]) ? got[NOT_DELIVERED_KEY] : [];
}

/** Add entries (built with undeliveredEntry) in front; keeps the newest MAX_NOT_DELIVERED. */
export async function recordNotDelivered(storage, entries, { max = MAX_NOT_DELIVERED } = {}) {
  if (!entries.length) return;
  await withLock('paperscout-not-delivered', async () => {
    const newest = [...entries].reverse();
    const list = newest.concat(await readNotDelivered(storage)).slice(0, max);
    await storage.set({ [NOT_DELIVERED_KEY]: list });
  });
}

export async function clearNotDelivered(storage) {
  await withLock('paperscout-not-delivered', () => storage.set({ [NOT_DELIVERED_KEY]: [] }));
}

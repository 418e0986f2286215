// The event queue: events wait in chrome.storage.local until the server has answered for them.
// Everything here takes its storage / fetch / clock as arguments so that node tests can drive it.

import { apiPaper } from './detect.js';

export const QUEUE_KEY = 'eventQueue';
export const FLUSH_STATE_KEY = 'flushState';
export const MAX_QUEUE = 5000;
export const BATCH_SIZE = 500;
export const EVENT_TYPES = Object.freeze(['open', 'click', 'save', 'unsave', 'dismiss']);
/** Only these are dropped when the queue is full; explicit choices (save/unsave/dismiss) never are. */
export const DROPPABLE = Object.freeze(new Set(['open', 'click']));
export const MIN_RETRY_MS = 30_000; // chrome.alarms minimum
export const MAX_RETRY_MS = 30 * 60_000;

export function backoffDelay(failures) {
  const n = Math.max(1, failures);
  return Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** (n - 1));
}

const uuid = () => globalThis.crypto.randomUUID();

/** Build one event in the wire format of POST /api/v1/events. */
export function makeEvent(type, paper, context, { now = Date.now(), id = uuid() } = {}) {
  if (!EVENT_TYPES.includes(type)) throw new Error(`unknown event type ${type}`);
  const p = apiPaper(paper);
  if (!p || (!p.key && !p.url)) throw new Error('an event needs paper.key or paper.url');
  const ev = { id, type, paper: p, occurred_at: new Date(now).toISOString() };
  if (context && Object.keys(context).length) ev.context = context;
  return ev;
}

/** Keep at most `max` events: drop the oldest open/click events first; never drop the others. */
export function boundQueue(queue, max = MAX_QUEUE) {
  if (queue.length <= max) return { queue, dropped: [] };
  let excess = queue.length - max;
  const drop = new Set();
  for (let i = 0; i < queue.length && excess > 0; i += 1) {
    if (DROPPABLE.has(queue[i].type)) { drop.add(i); excess -= 1; }
  }
  return { queue: queue.filter((_, i) => !drop.has(i)), dropped: queue.filter((_, i) => drop.has(i)) };
}

// ---- locking: navigator.locks spans every extension context (worker, popup, options) ----
const chains = new Map();
export async function withLock(name, fn) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (locks && typeof locks.request === 'function') return locks.request(name, () => fn());
  const prev = chains.get(name) || Promise.resolve();
  const run = prev.then(fn, fn);
  chains.set(name, run.catch(() => {}));
  return run;
}

export async function readQueue(storage) {
  const got = await storage.get(QUEUE_KEY);
  return Array.isArray(got[QUEUE_KEY]) ? got[QUEUE_KEY] : [];
}

/** Append events (already built with makeEvent); returns the new queue length. */
export async function enqueue(storage, events, { max = MAX_QUEUE, log = console } = {}) {
  return withLock('paperscout-queue', async () => {
    const ids = new Set();
    let q = (await readQueue(storage)).concat(events).filter((e) => (ids.has(e.id) ? false : ids.add(e.id)));
    const bounded = boundQueue(q, max);
    if (bounded.dropped.length) log.warn(`PaperScout: queue full, dropped ${bounded.dropped.length} old open/click events`);
    q = bounded.queue;
    await storage.set({ [QUEUE_KEY]: q });
    return q.length;
  });
}

async function removeIds(storage, ids) {
  return withLock('paperscout-queue', async () => {
    const q = (await readQueue(storage)).filter((e) => !ids.has(e.id));
    await storage.set({ [QUEUE_KEY]: q });
    return q.length;
  });
}

export async function readFlushState(storage) {
  const got = await storage.get(FLUSH_STATE_KEY);
  return { failures: 0, nextAttemptAt: 0, lastError: null, lastSuccessAt: null, ...(got[FLUSH_STATE_KEY] || {}) };
}

/**
 * Deliver queued events in batches. Only one flush runs at a time (lock); a flush that is not forced
 * respects the backoff. Returns {status, remaining, delivered, nextAttemptAt?}; status is one of
 * 'empty' | 'ok' | 'backoff' | 'offline' | 'auth' | 'no-token' | 'error'.
 */
export async function flushQueue({ storage, settings, fetchImpl, now = () => Date.now(), force = false,
  batchSize = BATCH_SIZE, log = console }) {
  return withLock('paperscout-flush', async () => {
    const state = await readFlushState(storage);
    const saveState = (s) => storage.set({ [FLUSH_STATE_KEY]: s });
    let queue = await readQueue(storage);
    if (!queue.length) {
      if (state.failures) await saveState({ ...state, failures: 0, nextAttemptAt: 0, lastError: null });
      return { status: 'empty', remaining: 0, delivered: 0 };
    }
    if (!settings.apiToken) return { status: 'no-token', remaining: queue.length, delivered: 0 };
    if (!force && state.nextAttemptAt > now()) {
      return { status: 'backoff', remaining: queue.length, delivered: 0, nextAttemptAt: state.nextAttemptAt };
    }
    const base = String(settings.backendUrl).replace(/\/+$/, '');
    let size = batchSize;
    let delivered = 0;
    const fail = async (status, error) => {
      const failures = state.failures + 1;
      const next = now() + backoffDelay(failures);
      await saveState({ ...state, failures, nextAttemptAt: next, lastError: error });
      return { status, remaining: queue.length, delivered, nextAttemptAt: next, error };
    };
    while (queue.length) {
      const batch = queue.slice(0, size);
      let res;
      try {
        res = await fetchImpl(`${base}/api/v1/events`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json',
            Authorization: `Bearer ${settings.apiToken}` },
          body: JSON.stringify({ events: batch }),
          credentials: 'omit',
        });
      } catch (err) {
        return fail('offline', `server unreachable: ${err && err.message}`);
      }
      if (res.status === 401 || res.status === 403) {
        // Keep the events: they are sent once the user signs in again (apiToken change triggers a flush).
        await saveState({ ...state, lastError: `not signed in (${res.status})` });
        return { status: 'auth', remaining: queue.length, delivered };
      }
      if (res.status === 413 || (res.status === 400 && batch.length > 1)) {
        size = Math.max(1, Math.ceil(batch.length / 2)); // find the bad event by halving
        continue;
      }
      if (res.status === 400 || res.status === 422) {
        log.warn('PaperScout: server rejected event, dropping it', batch[0], await safeText(res));
        queue = await removeAndReload(storage, batch);
        continue;
      }
      if (!res.ok) return fail('error', `server answered ${res.status}`);
      let body = {};
      try { body = await res.json(); } catch { body = {}; }
      for (const r of (body && body.rejected) || []) {
        log.warn('PaperScout: server rejected event, dropping it', batch[r.index], r.errors);
      }
      delivered += batch.length - (((body && body.rejected) || []).length);
      queue = await removeAndReload(storage, batch);
      size = batchSize;
    }
    await saveState({ failures: 0, nextAttemptAt: 0, lastError: null, lastSuccessAt: now() });
    return { status: 'ok', remaining: 0, delivered };
  });
}

async function removeAndReload(storage, batch) {
  await removeIds(storage, new Set(batch.map((e) => e.id)));
  return readQueue(storage);
}

async function safeText(res) {
  try { return (await res.text()).slice(0, 500); } catch { return ''; }
}

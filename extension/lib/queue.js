// The event queue: events wait in chrome.storage.local until the server has answered for them
// (delivery is lib/delivery.js). Everything here takes its storage as an argument so node tests can drive it.

import { apiPaper } from './detect.js';

export const QUEUE_KEY = 'eventQueue';
export const MAX_QUEUE = 5000;
// The event types of POST /api/v1/events: the one list of the extension. The server's is EVENT_TYPES in
// server/models.py (tests/server/test_shared_definitions.py checks that both agree).
export const EVENT_TYPES = Object.freeze(['open', 'click', 'save', 'unsave', 'dismiss']);
/** Only these (reading a paper) are dropped when the queue is full; explicit choices (save/unsave/dismiss)
 *  never are. The server's TRACKING_EVENTS: the same types it drops while tracking is paused. */
export const DROPPABLE = Object.freeze(new Set(['open', 'click']));

/** Save, unsave and dismiss: the user's explicit choices, whose order per paper matters to the server. */
export const isChoice = (event) => !DROPPABLE.has(event.type);

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

/** Remove the events with these ids; returns the queue that is left. */
export async function removeIds(storage, ids) {
  return withLock('paperscout-queue', async () => {
    const q = (await readQueue(storage)).filter((e) => !ids.has(e.id));
    await storage.set({ [QUEUE_KEY]: q });
    return q;
  });
}

// Delivery of the event queue to POST /api/v1/events. One flush runs at a time (lock); it sends the queue
// in order, in batches, and each answer decides what happens to the batch's events:
//   2xx            delivered; the events the body lists in `rejected` are invalid and go to "not delivered"
//   400/413/422    for a batch: retried at once in halves to find the bad event; for one event: "not delivered"
//   5xx            kept. A batch of several is halved on the next attempt, so an event that makes the server
//                  fail is isolated while the others get through. An event failing alone is skipped for the
//                  rest of the flush (later choices for its paper wait behind it, to keep their order), and it
//                  goes to "not delivered" after MAX_ALONE_FAILURES such failures, if the server accepted other
//                  events meanwhile (a server that fails everything is down, and then nothing is given up).
//   429            kept; no attempt before the server's Retry-After, even a forced one
//   401/403        kept until the user signs in again; unreachable server: kept, retried with backoff
// Everything takes its storage / fetch / clock as arguments so that node tests can drive it.

import { isChoice, readQueue, removeIds, withLock } from './queue.js';
import { reasonFromBody, recordNotDelivered, undeliveredEntry } from './undelivered.js';

export const FLUSH_STATE_KEY = 'flushState';
/** Per-event delivery attempts, {eventId: {alone, acceptedBefore}}: kept in storage, as the worker may stop. */
export const ATTEMPTS_KEY = 'deliveryAttempts';
export const BATCH_SIZE = 500;
export const MIN_RETRY_MS = 30_000; // chrome.alarms minimum
export const MAX_RETRY_MS = 30 * 60_000;
export const MAX_ALONE_FAILURES = 5;
const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000;

export function backoffDelay(failures) {
  const n = Math.max(1, failures);
  return Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** (n - 1));
}

/** Milliseconds to wait for a Retry-After value (delay in seconds or an HTTP date); null if absent or invalid. */
export function retryAfterDelay(value, nowMs) {
  if (typeof value !== 'string' || !value.trim()) return null;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - nowMs;
  if (!Number.isFinite(ms)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

export async function readFlushState(storage) {
  const got = await storage.get(FLUSH_STATE_KEY);
  return {
    failures: 0, // failed flushes in a row (backoff)
    nextAttemptAt: 0, // no unforced attempt before this time
    notBefore: 0, // the server's Retry-After: no attempt at all before this time
    batchLimit: null, // batch size while a batch that failed with 5xx is being split
    acceptedBatches: 0, // batches the server has accepted so far: proof it works while one event fails
    lastError: null,
    lastSuccessAt: null,
    ...(got[FLUSH_STATE_KEY] || {}),
  };
}

async function readAttempts(storage) {
  const got = await storage.get(ATTEMPTS_KEY);
  return got[ATTEMPTS_KEY] && typeof got[ATTEMPTS_KEY] === 'object' ? got[ATTEMPTS_KEY] : {};
}

const paperOf = (event) => (event.paper && (event.paper.key || event.paper.url)) || '';

/**
 * The next batch: the first `limit` events in queue order, leaving out the events held back in this flush
 * and, behind a held-back choice, the later choices for the same paper (the server must see them in order).
 */
export function nextBatch(queue, held, limit) {
  const waiting = new Set();
  const batch = [];
  for (const event of queue) {
    if (batch.length >= limit) break;
    if (held.has(event.id)) {
      if (isChoice(event)) waiting.add(paperOf(event));
    } else if (!(isChoice(event) && waiting.has(paperOf(event)))) {
      batch.push(event);
    }
  }
  return batch;
}

function classify(res, size) {
  if (res.ok) return 'delivered';
  if (res.status === 401 || res.status === 403) return 'auth';
  if (res.status === 429) return 'rate-limited';
  if (res.status === 400 || res.status === 413 || res.status === 422) return size > 1 ? 'halve-now' : 'invalid';
  if (res.status >= 500) return 'server-error';
  return 'error';
}

async function readJson(res) {
  try { return await res.json(); } catch { return null; }
}

/**
 * Deliver queued events. A flush that is not forced respects the backoff; none goes out before the
 * server's Retry-After. Returns {status, remaining, delivered, notDelivered, nextAttemptAt?, error?};
 * status is 'empty' | 'ok' | 'backoff' | 'rate-limited' | 'offline' | 'auth' | 'no-token' | 'error'.
 */
export async function flushQueue({ storage, settings, fetchImpl, now = () => Date.now(), force = false,
  batchSize = BATCH_SIZE, log = console }) {
  return withLock('paperscout-flush', async () => {
    const state = await readFlushState(storage);
    const queue = await readQueue(storage);
    const idle = { remaining: queue.length, delivered: 0, notDelivered: 0 };
    if (!queue.length) {
      if (state.failures || state.nextAttemptAt || state.batchLimit || state.lastError) {
        await storage.set({ [ATTEMPTS_KEY]: {},
          [FLUSH_STATE_KEY]: { ...state, failures: 0, nextAttemptAt: 0, batchLimit: null, lastError: null } });
      }
      return { status: 'empty', ...idle };
    }
    if (!settings.apiToken) return { status: 'no-token', ...idle };
    if (state.notBefore > now()) return { status: 'rate-limited', ...idle, nextAttemptAt: state.notBefore };
    if (!force && state.nextAttemptAt > now()) return { status: 'backoff', ...idle, nextAttemptAt: state.nextAttemptAt };
    const attempts = await readAttempts(storage);
    return new FlushRun({ storage, settings, fetchImpl, now, batchSize, log }, state, attempts).run(queue);
  });
}

/** One flush: sends batches until the queue is empty or an answer says to stop. */
class FlushRun {
  constructor(opts, state, attempts) {
    Object.assign(this, opts);
    this.state = state;
    this.attempts = attempts;
    this.limit = Math.min(batchSizeOf(opts), state.batchLimit || Infinity);
    this.held = new Set(); // failed alone with 5xx in this flush: not sent again before the next one
    this.serverErrorsInARow = 0;
    this.delivered = 0;
    this.notDelivered = 0;
    this.lastError = null;
  }

  async run(queue) {
    let pending = queue;
    for (;;) {
      const batch = nextBatch(pending, this.held, this.limit);
      if (!batch.length) return this.finish();
      const stop = await this.handle(batch, await this.post(batch));
      if (stop) return stop;
      pending = await readQueue(this.storage); // events queued meanwhile go out in this flush too
    }
  }

  async post(batch) {
    const base = String(this.settings.backendUrl).replace(/\/+$/, '');
    const { fetchImpl } = this; // called unbound: the browser's fetch refuses any other `this`
    try {
      return await fetchImpl(`${base}/api/v1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json',
          Authorization: `Bearer ${this.settings.apiToken}` },
        body: JSON.stringify({ events: batch }),
        credentials: 'omit',
      });
    } catch (err) {
      return { offline: `server unreachable: ${err && err.message}` };
    }
  }

  /** Act on one answer; returns the flush's result when the flush must stop, else null. */
  async handle(batch, res) {
    if (res.offline) return this.fail('offline', res.offline);
    switch (classify(res, batch.length)) {
      case 'delivered': return this.accept(batch, await readJson(res));
      case 'auth':
        // Kept: they are sent once the user signs in again (an apiToken change triggers a flush).
        await this.saveState({ ...this.state, lastError: `not signed in (${res.status})` });
        return { status: 'auth', ...(await this.counts()) };
      case 'rate-limited': return this.rateLimited(res);
      case 'halve-now':
        this.limit = Math.max(1, Math.ceil(batch.length / 2));
        return null;
      case 'invalid':
        await this.giveUp([[batch[0], reasonFromBody(await readJson(res), res.status)]]);
        return null;
      case 'server-error': return this.serverError(batch, res.status);
      default: return this.fail('error', `server answered ${res.status}`);
    }
  }

  async accept(batch, body) {
    const listed = Array.isArray(body && body.rejected) ? body.rejected : [];
    const indexes = new Set(listed.map((r) => r && r.index).filter((i) => Number.isInteger(i) && batch[i]));
    const refused = [...indexes].map((i) => [batch[i],
      reasonFromBody({ errors: listed.find((r) => r.index === i).errors }, 200)]);
    await this.giveUp(refused);
    await this.remove(batch);
    this.delivered += batch.length - refused.length;
    this.state.acceptedBatches += 1;
    this.serverErrorsInARow = 0;
    this.limit = Math.min(batchSizeOf(this), this.limit * 2); // back to full batches once past the bad event
    return null;
  }

  async serverError(batch, status) {
    this.serverErrorsInARow += 1;
    this.lastError = `server answered ${status}`;
    if (batch.length > 1) {
      this.limit = Math.ceil(batch.length / 2);
      return this.fail('error', this.lastError, { split: true });
    }
    const [event] = batch;
    const tries = this.attempts[event.id] || { alone: 0, acceptedBefore: this.state.acceptedBatches };
    tries.alone += 1;
    this.attempts[event.id] = tries;
    if (tries.alone >= MAX_ALONE_FAILURES && this.state.acceptedBatches > tries.acceptedBefore) {
      await this.giveUp([[event, `server error ${status}`]]);
      return null;
    }
    this.held.add(event.id);
    // Two server errors in a row look like a server in trouble rather than one bad event: wait.
    return this.serverErrorsInARow > 1 ? this.fail('error', this.lastError) : null;
  }

  async rateLimited(res) {
    const header = res.headers && res.headers.get('Retry-After');
    const told = retryAfterDelay(header, this.now());
    const failures = told === null ? this.state.failures + 1 : this.state.failures;
    const next = this.now() + (told === null ? backoffDelay(failures) : told);
    await this.saveState({ ...this.state, failures, notBefore: next, nextAttemptAt: next,
      lastError: 'rate limited by the server (429)' });
    return { status: 'rate-limited', ...(await this.counts()), nextAttemptAt: next };
  }

  /** Move events out of the queue into the "not delivered" list. pairs: [[event, reason], ...] */
  async giveUp(pairs) {
    if (!pairs.length) return;
    for (const [event, reason] of pairs) this.log.warn('PaperScout: event not delivered:', reason, event);
    await recordNotDelivered(this.storage, pairs.map(([event, reason]) => undeliveredEntry(event, reason, this.now())));
    await this.remove(pairs.map(([event]) => event));
    this.notDelivered += pairs.length;
  }

  async remove(events) {
    const ids = new Set(events.map((e) => e.id));
    for (const id of ids) delete this.attempts[id];
    await removeIds(this.storage, ids);
  }

  /** No batch left to send: everything was answered for, or what is left is held back until the next flush. */
  async finish() {
    if (this.held.size) return this.fail('error', this.lastError);
    await this.saveState({ ...this.state, failures: 0, nextAttemptAt: 0, notBefore: 0, batchLimit: null,
      lastError: null, lastSuccessAt: this.now() });
    return { status: 'ok', ...(await this.counts()) };
  }

  /** Stop with the events kept; the next attempt waits (a split step only the minimum: it is a new try). */
  async fail(status, error, { split = false } = {}) {
    const failures = split ? this.state.failures : this.state.failures + 1;
    const next = this.now() + (split ? MIN_RETRY_MS : backoffDelay(failures));
    const batchLimit = this.limit < batchSizeOf(this) ? this.limit : null;
    await this.saveState({ ...this.state, failures, nextAttemptAt: next, batchLimit, lastError: error });
    return { status, ...(await this.counts()), nextAttemptAt: next, error };
  }

  async saveState(state) {
    this.state = state;
    await this.storage.set({ [FLUSH_STATE_KEY]: state, [ATTEMPTS_KEY]: this.attempts });
  }

  async counts() {
    return { remaining: (await readQueue(this.storage)).length, delivered: this.delivered,
      notDelivered: this.notDelivered };
  }
}

const batchSizeOf = (opts) => Math.max(1, opts.batchSize || BATCH_SIZE);

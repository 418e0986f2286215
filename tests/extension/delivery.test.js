// Delivery of the queue (lib/delivery.js) against a fake fetch: batching, backoff, invalid events moved to
// the "not delivered" list, batches failing with 5xx split until the failing event is isolated, 429.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ATTEMPTS_KEY, BATCH_SIZE, FLUSH_STATE_KEY, MAX_ALONE_FAILURES, MIN_RETRY_MS, backoffDelay, flushQueue, nextBatch,
  retryAfterDelay,
} from '../../extension/lib/delivery.js';
import { QUEUE_KEY, enqueue, makeEvent, readQueue } from '../../extension/lib/queue.js';
import { readNotDelivered } from '../../extension/lib/undelivered.js';
import { memoryStorage } from './helpers.js';

const paper = { key: 'arxiv:2401.01234', url: 'https://arxiv.org/abs/2401.01234', title: 'T' };
const settings = { backendUrl: 'http://127.0.0.1:5000/', apiToken: 'tok' };
const quiet = { warn() {}, error() {}, log() {} };

function ev(type, i, p = paper) {
  return makeEvent(type, p, undefined, { id: `id-${type}-${i}`, now: 1_700_000_000_000 + i });
}
const paperN = (n) => ({ key: `arxiv:2402.${String(n).padStart(5, '0')}`, title: `Paper ${n}` });

/** A fake backend: records requests, answers with `answer(events, call)` -> {status, body, headers} or an Error. */
function fakeFetch(answer) {
  const calls = [];
  const fn = async function fakeFetch(url, init) {
    // like the browser's fetch, refuse to be called as a method of something else
    if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch': Illegal invocation");
    const body = JSON.parse(init.body);
    calls.push({ url, init, events: body.events });
    const r = answer(body.events, calls.length);
    if (r instanceof Error) throw r;
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), { status: r.status, headers: r.headers });
  };
  fn.calls = calls;
  fn.sent = () => calls.map((c) => c.events.map((e) => e.id));
  return fn;
}
const okAll = (events) => ({ status: 200, body: { accepted: events.length, duplicates: 0, rejected: [] } });
const state = async (storage) => (await storage.get(FLUSH_STATE_KEY))[FLUSH_STATE_KEY];

/** Force flushes until the queue is empty (or `max` flushes); returns the results. */
async function drain(storage, fetchImpl, { max = 50, now = () => 0 } = {}) {
  const results = [];
  while (results.length < max && (await readQueue(storage)).length) {
    results.push(await flushQueue({ storage, settings, fetchImpl, force: true, now, log: quiet }));
  }
  return results;
}

test('flush sends batches of at most 500 with the bearer token and empties the queue', async () => {
  const storage = memoryStorage();
  await enqueue(storage, Array.from({ length: 1203 }, (_, i) => ev('open', i)), { max: 5000, log: quiet });
  const fetchImpl = fakeFetch(okAll);
  const r = await flushQueue({ storage, settings, fetchImpl, log: quiet });
  assert.equal(r.status, 'ok');
  assert.equal(r.delivered, 1203);
  assert.deepEqual(fetchImpl.calls.map((c) => c.events.length), [BATCH_SIZE, BATCH_SIZE, 203]);
  assert.equal(fetchImpl.calls[0].url, 'http://127.0.0.1:5000/api/v1/events');
  assert.equal(fetchImpl.calls[0].init.headers.Authorization, 'Bearer tok');
  assert.equal((await readQueue(storage)).length, 0);
});

test('server down: nothing is removed, backoff is recorded, a later flush delivers exactly once', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('save', 2)], { log: quiet });
  let now = 1000;
  const down = fakeFetch(() => new TypeError('Failed to fetch'));
  const r1 = await flushQueue({ storage, settings, fetchImpl: down, now: () => now, log: quiet });
  assert.equal(r1.status, 'offline');
  assert.equal(r1.nextAttemptAt, 1000 + backoffDelay(1));
  assert.equal((await readQueue(storage)).length, 2);
  // not forced and still in backoff: no request at all
  const r2 = await flushQueue({ storage, settings, fetchImpl: down, now: () => now, log: quiet });
  assert.equal(r2.status, 'backoff');
  assert.equal(down.calls.length, 1);
  now += backoffDelay(1);
  const up = fakeFetch(okAll);
  const r3 = await flushQueue({ storage, settings, fetchImpl: up, now: () => now, force: true, log: quiet });
  assert.equal(r3.status, 'ok');
  assert.deepEqual(up.sent(), [['id-open-1', 'id-save-2']]);
  assert.equal((await state(storage)).failures, 0);
  const r4 = await flushQueue({ storage, settings, fetchImpl: up, now: () => now, log: quiet });
  assert.equal(r4.status, 'empty');
  assert.equal(up.calls.length, 1);
});

test('events the server rejects leave the queue for the "not delivered" list, with the reason and the time', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('open', 2), ev('save', 3)], { log: quiet });
  const warned = [];
  const log = { ...quiet, warn: (...a) => warned.push(a) };
  const fetchImpl = fakeFetch(() => ({ status: 200, body: { accepted: 2, duplicates: 0,
    rejected: [{ index: 2, errors: { paper: { title: ['Contains a NUL character.'] } } }] } }));
  const r = await flushQueue({ storage, settings, fetchImpl, now: () => Date.UTC(2024, 4, 1), log });
  assert.equal(r.status, 'ok');
  assert.equal(r.delivered, 2);
  assert.equal(r.notDelivered, 1);
  assert.equal((await readQueue(storage)).length, 0);
  const [entry, ...more] = await readNotDelivered(storage);
  assert.equal(more.length, 0);
  assert.deepEqual(entry, { id: 'id-save-3', type: 'save', key: paper.key, title: 'T', url: paper.url,
    occurredAt: new Date(1_700_000_000_003).toISOString(), failedAt: '2024-05-01T00:00:00.000Z',
    reason: 'paper.title: Contains a NUL character.' });
  assert.equal(warned.length, 1);
});

test('a 400 or 422 for one event: that event is not delivered, with the server\'s message', async () => {
  for (const status of [400, 422]) {
    const storage = memoryStorage();
    await enqueue(storage, [ev('open', 1)], { log: quiet });
    const fetchImpl = fakeFetch(() => ({ status, body: { code: status, status: 'x', message: 'Bad event.',
      errors: { events: { 0: { paper: ['Not a valid paper.'] } } } } }));
    const r = await flushQueue({ storage, settings, fetchImpl, log: quiet });
    assert.equal(r.status, 'ok');
    assert.equal((await readQueue(storage)).length, 0);
    assert.equal((await readNotDelivered(storage))[0].reason, 'Bad event. events.0.paper: Not a valid paper.');
  }
});

test('a whole-batch 400 is narrowed down by halving; only the bad event is not delivered', async () => {
  const storage = memoryStorage();
  await enqueue(storage, Array.from({ length: 8 }, (_, i) => ev('open', i)), { log: quiet });
  const bad = 'id-open-5';
  const delivered = [];
  const fetchImpl = fakeFetch((events) => {
    if (events.some((e) => e.id === bad)) return { status: 400, body: { code: 400, message: 'bad event' } };
    delivered.push(...events.map((e) => e.id));
    return okAll(events);
  });
  const r = await flushQueue({ storage, settings, fetchImpl, log: quiet });
  assert.equal(r.status, 'ok');
  assert.equal(delivered.length, 7);
  assert.ok(!delivered.includes(bad));
  assert.equal((await readQueue(storage)).length, 0);
  assert.deepEqual((await readNotDelivered(storage)).map((e) => e.id), [bad]);
});

test('a poison event queued first (5xx) is isolated by halving; the ten after it arrive exactly once', async () => {
  const storage = memoryStorage();
  const poison = makeEvent('open', { key: 'arxiv:2401.09999', title: 'Bad\ud800title' }, undefined, { id: 'poison' });
  const good = Array.from({ length: 10 }, (_, i) => ev('open', i, paperN(i)));
  await enqueue(storage, [poison, ...good], { log: quiet });
  const stored = [];
  const fetchImpl = fakeFetch((events) => {
    if (events.some((e) => e.id === 'poison')) return { status: 500, body: { code: 500, message: 'Internal' } };
    stored.push(...events.map((e) => e.id));
    return okAll(events);
  });
  const first = await flushQueue({ storage, settings, fetchImpl, now: () => 0, log: quiet });
  // the first failure may be the server's: everything is kept, and the next attempt sends half the batch,
  // soon (the alarm minimum) and without growing the backoff, as it is a new try
  assert.deepEqual([first.status, first.remaining, first.nextAttemptAt], ['error', 11, MIN_RETRY_MS]);
  assert.deepEqual([(await state(storage)).failures, (await state(storage)).batchLimit], [0, 6]);
  const results = [first, ...(await drain(storage, fetchImpl))];
  assert.deepEqual(stored.sort(), good.map((e) => e.id).sort(), 'each good event exactly once');
  const sizes = fetchImpl.calls.map((c) => c.events.length);
  assert.deepEqual(sizes.slice(0, 5), [11, 6, 3, 2, 1], 'later attempts halve the failing batch');
  assert.ok(results.length <= 4 + MAX_ALONE_FAILURES, `bounded number of flushes (${results.length})`);
  const [entry] = await readNotDelivered(storage);
  assert.equal(entry.id, 'poison');
  assert.equal(entry.reason, 'server error 500');
  assert.equal(results.at(-1).status, 'ok');
  assert.deepEqual((await storage.get(ATTEMPTS_KEY))[ATTEMPTS_KEY], {}, 'attempt counts are cleaned up');
  assert.equal((await state(storage)).batchLimit, null, 'full batches again');
});

test('per-event attempt counts live in storage between flushes (the worker may have stopped)', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1, paperN(1)), ev('open', 2, paperN(2))], { log: quiet });
  const fetchImpl = fakeFetch((events) => (events.some((e) => e.id === 'id-open-1') ? { status: 502 } : okAll(events)));
  await flushQueue({ storage, settings, fetchImpl, force: true, log: quiet }); // [1, 2] fails: split
  assert.equal((await state(storage)).batchLimit, 1);
  await flushQueue({ storage, settings, fetchImpl, force: true, log: quiet }); // [1] fails alone, [2] delivered
  const attempts = (await storage.get(ATTEMPTS_KEY))[ATTEMPTS_KEY];
  assert.deepEqual(Object.keys(attempts), ['id-open-1']);
  assert.equal(attempts['id-open-1'].alone, 1);
  assert.deepEqual(fetchImpl.sent(), [['id-open-1', 'id-open-2'], ['id-open-1'], ['id-open-2']]);
});

test('a server that fails everything is down, not poisoned: nothing is given up, all arrive once it is back', async () => {
  const storage = memoryStorage();
  await enqueue(storage, Array.from({ length: 6 }, (_, i) => ev('open', i, paperN(i))), { log: quiet });
  let up = false;
  const stored = [];
  const fetchImpl = fakeFetch((events) => {
    if (!up) return { status: 503, body: { code: 503, message: 'maintenance' } };
    stored.push(...events.map((e) => e.id));
    return okAll(events);
  });
  const results = await drain(storage, fetchImpl, { max: 4 * MAX_ALONE_FAILURES });
  assert.equal(results.length, 4 * MAX_ALONE_FAILURES);
  assert.ok(results.every((r) => r.status === 'error'));
  assert.equal((await readQueue(storage)).length, 6);
  assert.deepEqual(await readNotDelivered(storage), []);
  assert.ok(fetchImpl.calls.every((c, i) => i === 0 || c.events.length <= 3), 'the batch was split');
  up = true;
  await drain(storage, fetchImpl);
  assert.equal(stored.length, 6);
  assert.deepEqual(await readNotDelivered(storage), []);
});

test('an event failing alone is given up only once the server has accepted other events since', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1, paperN(1))], { log: quiet });
  const fetchImpl = fakeFetch((events) => (events.some((e) => e.id === 'id-open-1') ? { status: 500 } : okAll(events)));
  await drain(storage, fetchImpl, { max: 2 * MAX_ALONE_FAILURES });
  assert.equal((await readQueue(storage)).length, 1, 'alone in the queue, it could be the server: kept');
  await enqueue(storage, [ev('open', 2, paperN(2))], { log: quiet });
  await drain(storage, fetchImpl);
  assert.deepEqual((await readNotDelivered(storage)).map((e) => e.id), ['id-open-1']);
});

test('choices for a paper keep their order behind a failing choice; other papers go on', async () => {
  const storage = memoryStorage();
  const a = paperN(1);
  const save = makeEvent('save', a, undefined, { id: 'save-a' });
  const unsave = makeEvent('unsave', a, undefined, { id: 'unsave-a' });
  const others = [ev('open', 2, paperN(2)), ev('save', 3, paperN(3)), makeEvent('open', a, undefined, { id: 'open-a' })];
  await enqueue(storage, [save, others[0], unsave, others[1], others[2]], { log: quiet });
  const fetchImpl = fakeFetch((events) => (events.some((e) => e.id === 'save-a') ? { status: 500 } : okAll(events)));
  await drain(storage, fetchImpl);
  const sent = fetchImpl.sent();
  const lastSave = sent.findLastIndex((ids) => ids.includes('save-a'));
  // the unsave goes out behind the save in the same batch, or alone once the save was given up
  for (const [i, ids] of sent.entries()) {
    if (!ids.includes('unsave-a')) continue;
    const after = ids.indexOf('save-a') >= 0 ? ids.indexOf('save-a') < ids.indexOf('unsave-a') : i > lastSave;
    assert.ok(after, `unsave before save in ${JSON.stringify(sent)}`);
  }
  assert.deepEqual(sent.at(-1), ['unsave-a']);
  assert.ok(sent.findIndex((ids) => ids.includes('open-a') && !ids.includes('save-a')) < lastSave,
    'an open of the same paper is not held back');
  assert.deepEqual((await readNotDelivered(storage)).map((e) => e.id), ['save-a']);
  assert.equal((await readQueue(storage)).length, 0);
});

test('nextBatch skips held events and the later choices for their paper, in queue order', () => {
  const a = paperN(1);
  const q = [makeEvent('save', a, undefined, { id: 's1' }), ev('open', 1, paperN(2)),
    makeEvent('open', a, undefined, { id: 'o1' }), makeEvent('dismiss', a, undefined, { id: 'd1' }),
    ev('save', 2, paperN(3))];
  assert.deepEqual(nextBatch(q, new Set(['s1']), 10).map((e) => e.id), ['id-open-1', 'o1', 'id-save-2']);
  assert.deepEqual(nextBatch(q, new Set(), 2).map((e) => e.id), ['s1', 'id-open-1']);
  assert.deepEqual(nextBatch(q, new Set(['id-open-1']), 10).map((e) => e.id), ['s1', 'o1', 'd1', 'id-save-2']);
});

test('429 is not poison: nothing is split or given up, and no attempt comes before Retry-After', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('open', 2)], { log: quiet });
  let now = 10_000;
  let limited = true;
  const fetchImpl = fakeFetch((events) => (limited
    ? { status: 429, headers: { 'Retry-After': '120' }, body: { code: 429, message: 'Too many requests' } }
    : okAll(events)));
  const r1 = await flushQueue({ storage, settings, fetchImpl, now: () => now, log: quiet });
  assert.equal(r1.status, 'rate-limited');
  assert.equal(r1.nextAttemptAt, 10_000 + 120_000);
  // even a forced flush waits for the server's Retry-After
  now += 60_000;
  const r2 = await flushQueue({ storage, settings, fetchImpl, now: () => now, force: true, log: quiet });
  assert.equal(r2.status, 'rate-limited');
  assert.equal(fetchImpl.calls.length, 1);
  now += 60_000;
  limited = false;
  const r3 = await flushQueue({ storage, settings, fetchImpl, now: () => now, log: quiet });
  assert.equal(r3.status, 'ok');
  assert.deepEqual(fetchImpl.calls.map((c) => c.events.length), [2, 2]);
  assert.deepEqual(await readNotDelivered(storage), []);
  assert.equal((await state(storage)).notBefore, 0);
});

test('429 without Retry-After backs off like any failure', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1)], { log: quiet });
  const r = await flushQueue({ storage, settings, fetchImpl: fakeFetch(() => ({ status: 429 })), now: () => 0, log: quiet });
  assert.equal(r.status, 'rate-limited');
  assert.equal(r.nextAttemptAt, backoffDelay(1));
});

test('retryAfterDelay reads seconds and HTTP dates', () => {
  const now = Date.UTC(2024, 0, 1, 12, 0, 0);
  assert.equal(retryAfterDelay('30', now), 30_000);
  assert.equal(retryAfterDelay(' 0 ', now), 0);
  assert.equal(retryAfterDelay('Mon, 01 Jan 2024 12:02:00 GMT', now), 120_000);
  assert.equal(retryAfterDelay('Mon, 01 Jan 2024 11:00:00 GMT', now), 0, 'a date in the past: now');
  assert.equal(retryAfterDelay('soon', now), null);
  assert.equal(retryAfterDelay(null, now), null);
  assert.equal(retryAfterDelay('99999999', now), 24 * 3600_000, 'capped at a day');
});

test('401 keeps the queue until the user signs in; no token means no request', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('save', 1)], { log: quiet });
  const f401 = fakeFetch(() => ({ status: 401, body: { message: 'no' } }));
  assert.equal((await flushQueue({ storage, settings, fetchImpl: f401, log: quiet })).status, 'auth');
  assert.equal((await readQueue(storage)).length, 1);
  const none = fakeFetch(okAll);
  assert.equal((await flushQueue({ storage, settings: { ...settings, apiToken: null }, fetchImpl: none, log: quiet })).status, 'no-token');
  assert.equal(none.calls.length, 0);
  assert.deepEqual(await readNotDelivered(storage), []);
});

test('events added while a flush is in flight are kept and sent by the next flush', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1)], { log: quiet });
  let release;
  const gate = new Promise((r) => { release = r; });
  const fetchImpl = async (url, init) => {
    const events = JSON.parse(init.body).events;
    if (events.some((e) => e.id === 'id-open-1')) await gate;
    return new Response(JSON.stringify({ accepted: events.length, duplicates: 0, rejected: [] }), { status: 200 });
  };
  const first = flushQueue({ storage, settings, fetchImpl, log: quiet });
  await new Promise((r) => setTimeout(r, 10));
  await enqueue(storage, [ev('save', 2)], { log: quiet });
  const second = flushQueue({ storage, settings, fetchImpl, log: quiet }); // waits for the lock
  release();
  await first;
  await second;
  assert.equal((await readQueue(storage)).length, 0);
  assert.equal((await storage.get(QUEUE_KEY))[QUEUE_KEY].length, 0);
});

test('backoff grows from 30 s and is capped at 30 min', () => {
  assert.equal(backoffDelay(1), 30_000);
  assert.equal(backoffDelay(2), 60_000);
  assert.equal(backoffDelay(20), 30 * 60_000);
});

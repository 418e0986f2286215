import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BATCH_SIZE, FLUSH_STATE_KEY, QUEUE_KEY, backoffDelay, boundQueue, enqueue, flushQueue, makeEvent, readQueue,
} from '../../extension/lib/queue.js';
import { memoryStorage } from './helpers.js';

const paper = { key: 'arxiv:2401.01234', url: 'https://arxiv.org/abs/2401.01234', title: 'T', version: 'v3', pdf_url: 'x', doi: 'd' };
const settings = { backendUrl: 'http://127.0.0.1:5000/', apiToken: 'tok' };
const quiet = { warn() {}, error() {}, log() {} };

function ev(type, i) { return makeEvent(type, paper, undefined, { id: `id-${type}-${i}`, now: 1_700_000_000_000 + i }); }

/** A fake backend: records requests, answers with `answer(events, call)` -> {status, body}. */
function fakeFetch(answer) {
  const calls = [];
  const fn = async (url, init) => {
    const body = JSON.parse(init.body);
    calls.push({ url, init, events: body.events });
    const r = answer(body.events, calls.length);
    if (r instanceof Error) throw r;
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), { status: r.status });
  };
  fn.calls = calls;
  return fn;
}
const okAll = (events) => ({ status: 200, body: { accepted: events.length, duplicates: 0, rejected: [] } });

test('makeEvent: wire format, only API paper fields, UUID ids', () => {
  const e = makeEvent('click', paper, { list: 'foryou', rank: 2 }, { now: Date.UTC(2024, 0, 2) });
  assert.match(e.id, /^[0-9a-f-]{36}$/);
  assert.equal(e.type, 'click');
  assert.equal(e.occurred_at, '2024-01-02T00:00:00.000Z');
  assert.deepEqual(e.paper, { key: 'arxiv:2401.01234', url: 'https://arxiv.org/abs/2401.01234', title: 'T' });
  assert.deepEqual(e.context, { list: 'foryou', rank: 2 });
  assert.notEqual(makeEvent('open', paper).id, makeEvent('open', paper).id);
  assert.throws(() => makeEvent('like', paper));
  assert.throws(() => makeEvent('open', { title: 'no key, no url' }));
});

test('boundQueue drops the oldest open/click first and never save/unsave/dismiss', () => {
  const q = [ev('save', 0), ev('open', 1), ev('click', 2), ev('dismiss', 3), ev('open', 4), ev('unsave', 5)];
  const { queue, dropped } = boundQueue(q, 4);
  assert.deepEqual(dropped.map((e) => e.id), ['id-open-1', 'id-click-2']);
  assert.deepEqual(queue.map((e) => e.type), ['save', 'dismiss', 'open', 'unsave']);
  const durable = [ev('save', 0), ev('unsave', 1), ev('dismiss', 2)];
  assert.equal(boundQueue(durable, 1).queue.length, 3, 'explicit choices are kept even over the bound');
});

test('enqueue appends, ignores duplicate ids and keeps the bound', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('save', 2)], { log: quiet });
  await enqueue(storage, [ev('open', 1), ev('open', 3)], { max: 2, log: quiet });
  const q = await readQueue(storage);
  assert.deepEqual(q.map((e) => e.id), ['id-save-2', 'id-open-3']);
});

test('concurrent enqueues lose nothing', async () => {
  const storage = memoryStorage();
  await Promise.all(Array.from({ length: 50 }, (_, i) => enqueue(storage, [ev('open', i)], { log: quiet })));
  assert.equal((await readQueue(storage)).length, 50);
});

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
  // 5xx also keeps everything and grows the backoff
  now += backoffDelay(1);
  const err = fakeFetch(() => ({ status: 503, body: { message: 'down' } }));
  const r3 = await flushQueue({ storage, settings, fetchImpl: err, now: () => now, log: quiet });
  assert.equal(r3.status, 'error');
  assert.equal((await storage.get(FLUSH_STATE_KEY))[FLUSH_STATE_KEY].failures, 2);
  // back up
  const up = fakeFetch(okAll);
  const r4 = await flushQueue({ storage, settings, fetchImpl: up, now: () => now, force: true, log: quiet });
  assert.equal(r4.status, 'ok');
  assert.equal(up.calls.length, 1);
  assert.deepEqual(up.calls[0].events.map((e) => e.id), ['id-open-1', 'id-save-2']);
  assert.equal((await storage.get(FLUSH_STATE_KEY))[FLUSH_STATE_KEY].failures, 0);
  const r5 = await flushQueue({ storage, settings, fetchImpl: up, now: () => now, log: quiet });
  assert.equal(r5.status, 'empty');
  assert.equal(up.calls.length, 1);
});

test('rejected events are dropped (and logged), duplicates count as delivered', async () => {
  const storage = memoryStorage();
  await enqueue(storage, [ev('open', 1), ev('open', 2), ev('open', 3)], { log: quiet });
  const warned = [];
  const log = { ...quiet, warn: (...a) => warned.push(a) };
  const fetchImpl = fakeFetch(() => ({ status: 200, body: { accepted: 1, duplicates: 1, rejected: [{ index: 2, errors: { paper: ['bad'] } }] } }));
  const r = await flushQueue({ storage, settings, fetchImpl, log });
  assert.equal(r.status, 'ok');
  assert.equal((await readQueue(storage)).length, 0);
  assert.equal(warned.length, 1);
  assert.equal(warned[0][1].id, 'id-open-3');
});

test('a whole-batch 400 is narrowed down by halving; only the bad event is dropped', async () => {
  const storage = memoryStorage();
  await enqueue(storage, Array.from({ length: 8 }, (_, i) => ev('open', i)), { log: quiet });
  const bad = 'id-open-5';
  const delivered = [];
  const fetchImpl = fakeFetch((events) => {
    if (events.some((e) => e.id === bad)) return { status: 400, body: { code: 'invalid', message: 'bad event' } };
    delivered.push(...events.map((e) => e.id));
    return okAll(events);
  });
  const r = await flushQueue({ storage, settings, fetchImpl, log: quiet });
  assert.equal(r.status, 'ok');
  assert.equal(delivered.length, 7);
  assert.ok(!delivered.includes(bad));
  assert.equal((await readQueue(storage)).length, 0);
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

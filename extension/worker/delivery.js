// Delivery of the event queue from the worker: flushes (lib/delivery.js does the work), the retry alarm,
// and the status the popup shows.

import { MIN_RETRY_MS, flushQueue, readFlushState } from '../lib/delivery.js';
import { QUEUE_KEY, enqueue, makeEvent, readQueue } from '../lib/queue.js';
import { getSettings } from '../lib/settings.js';
import { readNotDelivered } from '../lib/undelivered.js';

export const FLUSH_ALARM = 'paperscout-flush';

export async function flush({ force = false } = {}) {
  try {
    const settings = await getSettings();
    const res = await flushQueue({ storage: chrome.storage.local, settings, fetchImpl: fetch, force });
    if (res.remaining > 0 && res.status !== 'no-token' && res.status !== 'auth') {
      const when = Math.max(res.nextAttemptAt || 0, Date.now() + MIN_RETRY_MS);
      await chrome.alarms.create(FLUSH_ALARM, { when });
    } else if (res.remaining === 0) {
      await chrome.alarms.clear(FLUSH_ALARM);
    }
    return res;
  } catch (err) {
    console.error('PaperScout: flush failed', err);
    return { status: 'error', error: String(err) };
  }
}

/** Queue one event and start a delivery (which respects the backoff). */
export async function queueEvent(type, paper, context) {
  await enqueue(chrome.storage.local, [makeEvent(type, paper, context)]);
  flush({ force: false });
}

export async function statusReply() {
  const settings = await getSettings();
  const queue = await readQueue(chrome.storage.local);
  const state = await readFlushState(chrome.storage.local);
  return {
    ok: true,
    signedIn: Boolean(settings.apiToken),
    paused: settings.paused,
    backendUrl: settings.backendUrl,
    queued: queue.length,
    queueKey: QUEUE_KEY,
    notDelivered: (await readNotDelivered(chrome.storage.local)).length,
    lastError: state.lastError,
    nextAttemptAt: state.nextAttemptAt,
    lastSuccessAt: state.lastSuccessAt,
  };
}

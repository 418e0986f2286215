// The one registry of runtime message types used between the content script, popup, options page and
// the service worker. Every message is {type: MSG.X, ...payload}; every reply is {ok: boolean, ...}.
// Which sender may send which type is decided in lib/senders.js (the worker refuses everything else).

export const MSG = Object.freeze({
  // content script -> worker: a paper was detected on the page. {paper} -> {ok, tracked, saved, enabled, seen}
  // (seen: what the reader did with it before this visit, see worker/seen.js; null when unknown)
  PAGE_PAPER: 'paperscout:page-paper',
  // popup, or content script (badge, its own page's paper only) -> worker: set the saved state of a paper.
  // {paper, saved, source} -> {ok, saved, queued, error?}
  SET_SAVED: 'paperscout:set-saved',
  // popup -> worker: dismiss a paper. {paper, list?, rank?} -> {ok, queued, error?}
  DISMISS: 'paperscout:dismiss',
  // popup -> worker: a paper was opened from a list. {paper, list, rank} -> {ok}
  CLICK: 'paperscout:click',
  // extension page -> worker: deliver queued events now, ignoring backoff (not the server's Retry-After).
  // {} -> {ok, status, remaining, delivered, notDelivered}
  FLUSH: 'paperscout:flush',
  // extension page -> worker: queue length, last delivery error, signed-in state. {} -> {ok, ...}
  STATUS: 'paperscout:status',
  // extension page -> worker: current saved state of a paper. {paper} -> {ok, saved}
  GET_SAVED: 'paperscout:get-saved',
  // worker -> content script: the saved state of the page's paper changed elsewhere. {key, saved}
  SAVED_CHANGED: 'paperscout:saved-changed',
});

/** Send a message to the worker; resolves with its reply, or {ok:false, error} if nobody answered. */
export async function send(type, payload = {}) {
  try {
    const reply = await chrome.runtime.sendMessage({ type, ...payload });
    return reply || { ok: false, error: 'no-reply' };
  } catch (err) {
    return { ok: false, error: String((err && err.message) || err) };
  }
}

// The one registry of runtime message types used between the content script, popup, options page and
// the service worker. Every message is {type: MSG.X, ...payload}; every reply is {ok: boolean, ...}.

export const MSG = Object.freeze({
  // content script -> worker: a paper was detected on the page. {paper} -> {ok, tracked, saved, enabled}
  PAGE_PAPER: 'paperscout:page-paper',
  // any page -> worker: set the saved state of a paper. {paper, saved, source} -> {ok, saved, queued, error?}
  SET_SAVED: 'paperscout:set-saved',
  // popup -> worker: dismiss a paper. {paper, list?, rank?} -> {ok, queued, error?}
  DISMISS: 'paperscout:dismiss',
  // popup -> worker: a paper was opened from a list. {paper, list, rank} -> {ok}
  CLICK: 'paperscout:click',
  // any page -> worker: deliver queued events now, ignoring backoff. {} -> {ok, status, remaining}
  FLUSH: 'paperscout:flush',
  // any page -> worker: queue length, last delivery error, signed-in state. {} -> {ok, ...}
  STATUS: 'paperscout:status',
  // content script -> worker: current saved state of a paper. {paper} -> {ok, saved}
  GET_SAVED: 'paperscout:get-saved',
  // worker -> content script: the saved state of the page's paper changed elsewhere. {key, saved}
  SAVED_CHANGED: 'paperscout:saved-changed',
});

export const MESSAGE_TYPES = Object.freeze(new Set(Object.values(MSG)));

/** Send a message to the worker; resolves with its reply, or {ok:false, error} if nobody answered. */
export async function send(type, payload = {}) {
  try {
    const reply = await chrome.runtime.sendMessage({ type, ...payload });
    return reply || { ok: false, error: 'no-reply' };
  } catch (err) {
    return { ok: false, error: String((err && err.message) || err) };
  }
}

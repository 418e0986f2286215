// Who may send which message to the worker. chrome.runtime.onMessage receives messages from every context
// of this extension: its own pages (popup, options) and its content scripts. Content scripts live inside
// web pages, so they are the least trusted: a page that compromised its renderer can send whatever they can.
// Each message type therefore names the senders it accepts. Pure module: no chrome.* calls.

import { siteOf } from './detect.js';
import { MSG } from './messages.js';

/** What content/*.js sends: the page's paper, and the on-page badge's save toggle. */
export const FROM_CONTENT_SCRIPTS = Object.freeze(new Set([MSG.PAGE_PAPER, MSG.SET_SAVED]));
/** What the popup and the options page send. */
export const FROM_EXTENSION_PAGES = Object.freeze(new Set([
  MSG.SET_SAVED, MSG.DISMISS, MSG.CLICK, MSG.FLUSH, MSG.STATUS, MSG.GET_SAVED,
]));

/** Is this the address of a page on a supported paper site, where the manifest runs the content script? */
export function isPaperSitePage(url) {
  let u;
  try { u = new URL(String(url)); } catch { return false; }
  return u.protocol === 'https:' && siteOf(u) !== null;
}

/**
 * The kind of sender: 'page' (a page of this extension, in the popup or in a tab), 'content' (this
 * extension's content script in the top frame of a paper-site page) or null (anything else).
 * @param {chrome.runtime.MessageSender} sender
 * @param {{id: string, baseUrl: string}} self  chrome.runtime.id and chrome.runtime.getURL('')
 */
export function senderKind(sender, self) {
  if (!sender || !self || !self.id || sender.id !== self.id) return null;
  const url = typeof sender.url === 'string' ? sender.url : '';
  if (url && self.baseUrl && url.startsWith(self.baseUrl)) return 'page';
  if (!sender.tab || (typeof sender.frameId === 'number' && sender.frameId !== 0)) return null;
  return isPaperSitePage(url || sender.tab.url) ? 'content' : null;
}

/** {ok: true, from} when this sender may send this message, else {ok: false, error, message}. */
export function authorizeMessage(msg, sender, self) {
  const type = msg && typeof msg === 'object' ? msg.type : undefined;
  if (!FROM_CONTENT_SCRIPTS.has(type) && !FROM_EXTENSION_PAGES.has(type)) {
    return { ok: false, error: 'unknown-message', message: `Unknown message type: ${String(type).slice(0, 80)}` };
  }
  const from = senderKind(sender, self);
  if ((from === 'page' && FROM_EXTENSION_PAGES.has(type)) || (from === 'content' && FROM_CONTENT_SCRIPTS.has(type))) {
    return { ok: true, from };
  }
  return { ok: false, error: 'forbidden', message: `${type} is not accepted from this sender` };
}

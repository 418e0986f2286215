// Runtime messages to the worker: who may send what (lib/senders.js), and what each message does.
// Every reply is {ok: boolean, ...}; a message that is unknown or not allowed from its sender gets
// {ok: false, error, message} and changes nothing.

import { MSG } from '../lib/messages.js';
import { authorizeMessage } from '../lib/senders.js';
import { getSettings, siteEnabled } from '../lib/settings.js';
import { flush, queueEvent, statusReply } from './delivery.js';
import { BAD_MESSAGE, dismiss, savedState, setSaved, validPaper } from './saves.js';
import { seenState } from './seen.js';
import { isNewOpen, rememberTabPaper, tabPaper } from './tabs.js';

const HANDLERS = {
  [MSG.PAGE_PAPER]: onPagePaper,
  [MSG.SET_SAVED]: onSetSaved,
  [MSG.DISMISS]: (msg) => dismiss(msg.paper, msg.list, msg.rank),
  [MSG.CLICK]: onClick,
  [MSG.FLUSH]: async () => ({ ok: true, ...(await flush({ force: true })) }),
  [MSG.STATUS]: () => statusReply(),
  [MSG.GET_SAVED]: async (msg) => ({ ok: true, saved: await savedState(msg.paper) }),
};

/** This extension, as the sender policy needs it. */
const self = () => ({ id: chrome.runtime.id, baseUrl: chrome.runtime.getURL('') });

/** Check the sender, then run the message's handler. Never throws: errors become {ok: false, error}. */
export async function handleMessage(msg, sender) {
  const allowed = authorizeMessage(msg, sender, self());
  if (!allowed.ok) {
    console.warn('PaperScout: refused message', msg && msg.type, 'from', sender && (sender.url || sender.id));
    return allowed;
  }
  try {
    return await HANDLERS[msg.type](msg, sender, allowed.from);
  } catch (err) {
    console.error('PaperScout:', msg.type, err);
    return { ok: false, error: String((err && err.message) || err) };
  }
}

async function onPagePaper(msg, sender) {
  const paper = validPaper(msg.paper);
  const tabId = sender.tab && sender.tab.id;
  const pageUrl = sender.url || (sender.tab && sender.tab.url);
  if (!paper || tabId === undefined || !pageUrl) return BAD_MESSAGE;
  const host = new URL(pageUrl).hostname;
  const settings = await getSettings();
  if (!siteEnabled(settings, host)) return { ok: true, enabled: false, tracked: false };
  await rememberTabPaper(tabId, paper);
  const seen = seenState(paper); // asked now, so that the open queued below cannot count as "before"
  let tracked = false;
  if (!settings.paused && (await isNewOpen(tabId, paper, pageUrl))) {
    await queueEvent('open', paper, { url: pageUrl });
    tracked = true;
  }
  return { ok: true, enabled: true, tracked, paused: settings.paused, signedIn: Boolean(settings.apiToken),
    saved: await savedState(paper), seen: await seen };
}

/** The on-page badge may change only the paper its own page shows; the popup may change any. */
async function onSetSaved(msg, sender, from) {
  const paper = validPaper(msg.paper);
  if (!paper) return BAD_MESSAGE;
  if (from === 'content') {
    const shown = await tabPaper(sender.tab.id);
    const same = shown && (paper.key ? shown.key === paper.key : !shown.key && shown.url === paper.url);
    if (!same) return { ok: false, error: 'forbidden', message: 'A page may only save the paper it shows.' };
  }
  return setSaved(paper, Boolean(msg.saved), msg.source || (from === 'content' ? 'badge' : 'popup'));
}

async function onClick(msg) {
  const paper = validPaper(msg.paper);
  if (!paper) return BAD_MESSAGE;
  const settings = await getSettings();
  let host = '';
  try { host = new URL(paper.url).hostname; } catch { /* no url */ }
  if (settings.paused || !siteEnabled(settings, host)) return { ok: true, tracked: false };
  const context = { list: String(msg.list || ''), rank: Number.isInteger(msg.rank) ? msg.rank : null };
  await queueEvent('click', paper, context);
  return { ok: true, tracked: true };
}

// Runs in the page's isolated world. Detects the paper on the page, tells the worker (which records an
// `open` event unless tracking is paused or the site is switched off) and shows the save badge, which says
// when the reader opened or saved the paper before.
// Pages without a paper send nothing.

import { detectPaper } from '../lib/detect.js';
import { MSG, send } from '../lib/messages.js';
import { createBadge } from './badge.js';

let current = null; // {href, paper, badge} of this page (content-script state lives as long as the page)

export function start() {
  check();
  chrome.runtime.onMessage.addListener((msg) => {
    if (msg && msg.type === MSG.SAVED_CHANGED && current && current.paper.key === msg.key && current.badge) {
      current.badge.setSaved(Boolean(msg.saved));
    }
  });
  // Single-page sites (Hugging Face, alphaXiv, Semantic Scholar) change the URL without a reload.
  let last = location.href;
  setInterval(() => {
    if (location.href !== last) {
      last = location.href;
      setTimeout(check, 500); // let the site update its <head>
    }
  }, 1000);
}

async function check() {
  const href = location.href;
  const paper = detectPaper(document, href);
  if (current && current.badge && (!paper || paper.key !== current.paper.key)) {
    current.badge.remove();
    current = null;
  }
  if (!paper) return;
  if (current && current.paper.key === paper.key) return;
  const reply = await send(MSG.PAGE_PAPER, { paper });
  current = { href, paper, badge: null };
  if (!reply.ok || !reply.enabled) return;
  current.badge = createBadge({
    saved: Boolean(reply.saved),
    seen: reply.seen || null,
    onToggle: async (saved) => send(MSG.SET_SAVED, { paper, saved, source: 'badge' }),
  });
}

// PaperScout service worker (Firefox: event page). Listeners are registered here, at top level and
// synchronously, so that an event that wakes the worker finds them; the features live in worker/*.js.
// No state in globals: settings, the event queue, the saved-state cache live in chrome.storage.local;
// per-tab data (the paper shown in a tab, recent opens) in chrome.storage.session.

import { FLUSH_ALARM, flush, statusReply } from './worker/delivery.js';
import { MENU_ID, createMenu, saveFromMenu } from './worker/menu.js';
import { handleMessage } from './worker/messages.js';
import { toggleSaveInTab } from './worker/saves.js';
import { forgetTab } from './worker/tabs.js';

chrome.runtime.onInstalled.addListener(() => {
  createMenu();
  flush({ force: false });
});

chrome.runtime.onStartup.addListener(() => {
  createMenu();
  flush({ force: true });
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === FLUSH_ALARM) flush({ force: true });
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.apiToken && changes.apiToken.newValue) flush({ force: true });
});

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  handleMessage(msg, sender).then(sendResponse);
  return true; // answer asynchronously
});

if (chrome.commands) {
  chrome.commands.onCommand.addListener((command, tab) => {
    if (command === 'toggle-save') toggleSaveInTab(tab && tab.id);
  });
}

if (chrome.contextMenus) {
  chrome.contextMenus.onClicked.addListener((info, tab) => {
    if (info.menuItemId === MENU_ID) saveFromMenu(info, tab);
  });
}

chrome.tabs.onRemoved.addListener((tabId) => {
  forgetTab(tabId);
});

// Every time the worker wakes up, deliver what is waiting (respecting the backoff).
flush({ force: false });

// For tests and debugging from the worker console (module scope is not global).
globalThis.paperscout = { flush, status: () => statusReply() };

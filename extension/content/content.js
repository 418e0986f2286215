// Classic content script: loads the module that does the work (content scripts cannot be ES modules).
(() => {
  if (globalThis.__paperscoutContent) return;
  globalThis.__paperscoutContent = true;
  import(chrome.runtime.getURL('content/main.js'))
    .then((m) => m.start())
    .catch((err) => console.debug('PaperScout: content script did not start', err));
})();

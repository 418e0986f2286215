// Test helpers: parse a saved HTML fixture into a DOM Document with linkedom (no browser needed).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHTML } from 'linkedom';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');

export function fixture(name) {
  const { document } = parseHTML(readFileSync(join(here, 'fixtures', name), 'utf8'));
  return document;
}

/** An in-memory stand-in for chrome.storage.local (get/set with the same shapes). */
export function memoryStorage(initial = {}) {
  const data = structuredClone(initial);
  return {
    data,
    async get(keys) {
      const list = keys == null ? Object.keys(data) : Array.isArray(keys) ? keys : [keys];
      const out = {};
      for (const k of list) if (k in data) out[k] = structuredClone(data[k]);
      return out;
    },
    async set(obj) { Object.assign(data, structuredClone(obj)); },
    async remove(keys) { for (const k of [].concat(keys)) delete data[k]; },
  };
}

// BokehJS bundles a kernel delivered (bokehjs.ts), kept in the browser's IndexedDB so a
// reloaded page, or another notebook on a kernel with the same bokeh, does not fetch them
// again. Keyed by version and bundle; each entry holds its SHA-256 and is checked against
// it when read. (IndexedDB, not the Cache API: that one exists only on https and
// localhost, and Jupyter servers are often reached over plain http on a LAN.)

const DB_NAME = 'bokeh-nb';
const STORE = 'bokehjs';

interface IEntry {
  sha256: string;
  text: string;
}

/** The hex SHA-256 of text's UTF-8 bytes (undefined where WebCrypto is not available:
 * plain http on a host that is not localhost). */
export async function sha256(text: string): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) {
    return undefined;
  }
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, '0')).join('');
}

let db: Promise<IDBDatabase | null> | null = null;

function open(): Promise<IDBDatabase | null> {
  if (db === null) {
    db = new Promise(resolve => {
      try {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(STORE);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(null); // private windows, disabled storage
        request.onblocked = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
  }
  return db;
}

function key(version: string, bundle: string): string {
  return `${version}/${bundle}`;
}

/** A cached bundle's text, if it is there and intact. */
export async function cachedBundle(version: string, bundle: string): Promise<string | undefined> {
  const store = await open();
  if (store === null) {
    return undefined;
  }
  const entry = await new Promise<IEntry | undefined>(resolve => {
    try {
      const request = store.transaction(STORE, 'readonly').objectStore(STORE).get(key(version, bundle));
      request.onsuccess = () => resolve(request.result as IEntry | undefined);
      request.onerror = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
  if (entry === undefined || typeof entry.text !== 'string') {
    return undefined;
  }
  const digest = await sha256(entry.text);
  return digest === undefined || digest === entry.sha256 ? entry.text : undefined;
}

/** Keep a bundle the kernel delivered; a failure only means it is fetched again later. */
export async function cacheBundle(
  version: string,
  bundle: string,
  text: string,
  digest: string
): Promise<void> {
  const store = await open();
  if (store === null) {
    return;
  }
  await new Promise<void>(resolve => {
    try {
      const tx = store.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put({ sha256: digest, text } as IEntry, key(version, bundle));
      tx.oncomplete = () => resolve();
      tx.onerror = () => resolve();
      tx.onabort = () => resolve();
    } catch {
      resolve();
    }
  });
}

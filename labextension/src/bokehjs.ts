// BokehJS, loaded at run time at exactly the kernel's bokeh version from the Jupyter
// server (never from a CDN, never bundled into this extension). BokehJS registers each
// version it loads under window.Bokeh[version], so several versions can coexist.

import { ServerConnection } from '@jupyterlab/services';

import { bokehjsUrlPath } from './protocol';

/** The parts of BokehJS's API that bokeh_nb uses. */
export interface IBkEvent {
  readonly sync: boolean;
  readonly kind?: string;
  readonly model?: { readonly id: string };
  readonly attr?: string;
  readonly events?: IBkEvent[];
}

export interface IBkView {
  build(target: Element): void;
  remove(): void;
}

export interface IBkViewManager {
  build_view(model: unknown): Promise<IBkView>;
  get(model: unknown): IBkView | null;
  clear(): void;
}

export interface IBkDocument {
  roots(): unknown[];
  to_json(include_defaults?: boolean): unknown;
  on_change(cb: (event: IBkEvent) => void, allowBatches: true): void;
  remove_on_change(cb: (event: IBkEvent) => void): void;
  apply_json_patch(patch: unknown, buffers?: Map<string, ArrayBuffer>): void;
  create_json_patch(events: IBkEvent[]): unknown;
  /** Moves this document's roots into ``dest``, replacing its content. */
  destructively_move(dest: IBkDocument): void;
  views_manager: IBkViewManager | null;
}

export interface IBokehJS {
  readonly version: string;
  Document: {
    from_json(
      json: unknown,
      events?: unknown,
      buffers?: Map<string, ArrayBuffer>
    ): IBkDocument;
  };
  ViewManager: new (roots: unknown[], global: unknown) => IBkViewManager;
  index: unknown;
  Buffer: new (...args: never[]) => { readonly buffer: ArrayBuffer };
  RootAddedEvent: new (...args: never[]) => IBkEvent;
  RootRemovedEvent: new (...args: never[]) => IBkEvent;
  /** The names of the models a plugin bundle defines ('bokeh-widgets', 'bokeh-tables'),
   * empty for a bundle not loaded. */
  modelsOf(bundle: string): ReadonlySet<string>;
}

interface IBokehGlobal {
  [version: string]: { require(name: string): Record<string, unknown> } | undefined;
}

/** Why BokehJS could not be loaded, in words for the person looking at the output. */
export class BokehJSLoadError extends Error {}

const chains = new Map<string, Promise<void>>();
const loaded = new Map<string, Set<string>>();
/** The text of every bundle this page loaded, by version and bundle: a saved snapshot
 * carries the ones it needs (see snapshot.ts). */
const sources = new Map<string, Map<string, string>>();

/** BokehJS at version if this page loaded it, without loading anything. */
export function bokehJSOnPage(version: string): IBokehJS | undefined {
  return loaded.get(version)?.has('bokeh') && bokehGlobal()?.[version] != null
    ? api(version)
    : undefined;
}

/** The source of a BokehJS bundle this page has loaded, or undefined. */
export function bundleSource(version: string, bundle: string): string | undefined {
  return sources.get(version)?.get(bundle);
}

function bokehGlobal(): IBokehGlobal | undefined {
  return (window as unknown as { Bokeh?: IBokehGlobal }).Bokeh;
}

async function explanation(
  response: Response,
  version: string,
  url: string
): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === 'string') {
      return body.message;
    }
  } catch {
    // not our JSON answer: the route itself is missing
  }
  return (
    `BokehJS ${version} could not be loaded from ${url} (HTTP ${response.status}): is ` +
    'bokeh_nb installed and enabled in the environment that runs JupyterLab? pip install ' +
    'bokeh_nb there, restart the server and reload the page. Behind a reverse proxy, the ' +
    "proxy must forward every path below the Jupyter server's base URL (see " +
    '"Reverse proxy" in bokeh_nb\'s docs/deploying.md).'
  );
}

/** Fetch a bundle (same origin, with the server's auth) and run it. */
async function addScript(url: string, version: string, bundle: string): Promise<void> {
  let response: Response;
  try {
    // with the server's credentials as JupyterLab sends them (token header, XSRF header):
    // JupyterHub's single-user servers accept a cookie from fetch() only with the latter
    response = await ServerConnection.makeRequest(url, {}, ServerConnection.makeSettings());
  } catch (err) {
    throw new BokehJSLoadError(`BokehJS ${version} could not be fetched from ${url}: ${err}`);
  }
  if (!response.ok) {
    throw new BokehJSLoadError(await explanation(response, version, url));
  }
  const text = await response.text();
  let texts = sources.get(version);
  if (texts === undefined) {
    texts = new Map();
    sources.set(version, texts);
  }
  texts.set(bundle, text);
  const blobUrl = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  try {
    await new Promise<void>((resolve, reject) => {
      const script = document.createElement('script');
      script.src = blobUrl;
      script.async = false;
      script.dataset.bokehNb = url;
      script.onload = () => resolve();
      script.onerror = () =>
        reject(new BokehJSLoadError(`BokehJS ${version} (${url}) failed to run.`));
      document.head.appendChild(script);
    });
  } finally {
    URL.revokeObjectURL(blobUrl);
  }
}

function api(version: string): IBokehJS {
  const bk = bokehGlobal()?.[version];
  if (bk == null) {
    throw new BokehJSLoadError(`BokehJS ${version} loaded but did not register itself.`);
  }
  const req = (name: string) => bk.require(name);
  const plugins: Record<string, [string, string]> = {
    'bokeh-widgets': ['models/widgets/main', 'Widgets'],
    'bokeh-tables': ['models/widgets/tables/main', 'Tables']
  };
  const modelsOf = (bundle: string): ReadonlySet<string> => {
    const plugin = plugins[bundle];
    if (plugin === undefined) {
      return new Set();
    }
    try {
      return new Set(Object.keys(req(plugin[0])[plugin[1]] as object));
    } catch {
      return new Set(); // that bundle is not on the page
    }
  };
  return {
    modelsOf,
    version,
    Document: req('document').Document as IBokehJS['Document'],
    ViewManager: req('core/view_manager').ViewManager as IBokehJS['ViewManager'],
    index: req('embed/standalone').index,
    Buffer: req('core/serialization').Buffer as IBokehJS['Buffer'],
    RootAddedEvent: req('document').RootAddedEvent as IBokehJS['RootAddedEvent'],
    RootRemovedEvent: req('document').RootRemovedEvent as IBokehJS['RootRemovedEvent']
  };
}

/** BokehJS at version with at least the given bundles; each is fetched once per page. */
export async function loadBokehJS(
  baseUrl: string,
  version: string,
  bundles: string[]
): Promise<IBokehJS> {
  const chain = (chains.get(version) ?? Promise.resolve()).then(async () => {
    let done = loaded.get(version);
    if (done === undefined) {
      done = new Set();
      loaded.set(version, done);
    }
    if (bokehGlobal()?.[version] != null) {
      done.add('bokeh'); // this version is on the page already
    }
    for (const bundle of bundles) {
      if (!done.has(bundle)) {
        await addScript(baseUrl + bokehjsUrlPath(version, bundle), version, bundle);
        done.add(bundle);
      }
    }
  });
  chains.set(
    version,
    chain.catch(() => undefined)
  );
  await chain;
  return api(version);
}

/** Build the view of one root of a document into target, as BokehJS's embed does; a root
 * without a view (a data source, say) is skipped. */
export async function renderRoot(
  views: IBkViewManager,
  model: unknown,
  target: HTMLElement,
  cancelled: () => boolean = () => false
): Promise<void> {
  if ((model as { default_view?: unknown }).default_view === undefined) {
    return;
  }
  const view = await views.build_view(model);
  if (!cancelled()) {
    view.build(target);
  }
}

// BokehJS, loaded at run time at exactly the kernel's bokeh version (never from a CDN,
// never bundled into this extension): from the Jupyter server when its bokeh is that
// version (the server extension says which it has in the page config), else from the
// browser's cache of bundles kernels delivered, else from the kernel itself over the
// output's comm; a saved snapshot with no kernel, from the bundles its (trusted) notebook
// carries (savedbokehjs.ts). BokehJS registers each version it loads under window.Bokeh[version], so
// several versions can coexist on one page.

import { PageConfig } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { cacheBundle, cachedBundle, sha256 } from './bokehjscache';
import { bokehjsUrlPath, CORE_BUNDLES, OPTIONAL_BUNDLES, SERVER_BOKEH_OPTION } from './protocol';
import { BOKEH_VERSION, jsVersion } from './versions';

export { BOKEH_VERSION, jsVersion };

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

/** BokehJS at a version the Jupyter server does not have, asked for with no kernel to send
 * it and no copy saved in the notebook (or none that may run). Nothing was requested. */
export class NotOnServerError extends BokehJSLoadError {}

/** The bundles of a version that the notebook being shown carries, by name: they run as
 * the notebook's own code, so only a trusted notebook's are asked for. */
export type SavedBundles = (version: string) => Promise<Map<string, string>>;

/** Bundles from the kernel, by name, with their SHA-256 as the kernel computed it. */
export type KernelDelivery = (
  version: string,
  bundles: string[]
) => Promise<Map<string, { text: string; sha256: string }>>;

/** Where one version's bundles came from on this page, how many bytes and how long. */
export interface ILoadReport {
  source: 'server' | 'cache' | 'kernel' | 'notebook';
  bundles: string[];
  bytes: number;
  ms: number;
}

const chains = new Map<string, Promise<void>>();
const reports = new Map<string, ILoadReport[]>();
const loaded = new Map<string, Set<string>>();
/** The text of every bundle this page loaded, by version and bundle: a saved snapshot
 * carries the ones it needs (see snapshot.ts). */
const sources = new Map<string, Map<string, string>>();

/** BokehJS at version if this page loaded it, without loading anything. */
export function bokehJSOnPage(version: string): IBokehJS | undefined {
  return loaded.get(version)?.has('bokeh') && bokehGlobal()?.[jsVersion(version)] != null
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

/** Fetch a bundle (same origin, with the server's auth) and run it; its size. */
async function addScript(url: string, version: string, bundle: string): Promise<number> {
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
  await runScript(text, version, bundle, url);
  return text.length;
}

/** Run the text of one bundle as a script of this page (a blob URL, so the page's CSP
 * needs no inline scripts), and keep it for snapshots. */
async function runScript(text: string, version: string, bundle: string, url: string): Promise<void> {
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
  const bk = bokehGlobal()?.[jsVersion(version)];
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

/** How each version's bundles reached this page (tests and benchmarks read this). */
export function loadReports(version: string): readonly ILoadReport[] {
  return reports.get(version) ?? [];
}

function report(version: string, entry: ILoadReport): void {
  const list = reports.get(version) ?? [];
  list.push(entry);
  reports.set(version, list);
}

/** Bundles from the kernel, checked against their SHA-256, then cached and run. */
async function fromKernel(
  deliver: KernelDelivery,
  version: string,
  bundles: string[]
): Promise<void> {
  const started = performance.now();
  let delivered: Map<string, { text: string; sha256: string }>;
  try {
    delivered = await deliver(version, bundles);
  } catch (err) {
    throw new BokehJSLoadError(
      `BokehJS ${version} is not on this Jupyter server and the kernel did not send it: ` +
        `${(err as Error).message ?? err}`
    );
  }
  let bytes = 0;
  for (const bundle of bundles) {
    const entry = delivered.get(bundle);
    if (entry === undefined) {
      throw new BokehJSLoadError(`The kernel did not send BokehJS ${version} (${bundle}).`);
    }
    const digest = await sha256(entry.text);
    if (digest !== undefined && digest !== entry.sha256) {
      throw new BokehJSLoadError(`BokehJS ${version} (${bundle}) arrived damaged from the kernel.`);
    }
    bytes += entry.text.length;
  }
  const ms = performance.now() - started;
  for (const bundle of bundles) {
    const { text, sha256: digest } = delivered.get(bundle)!;
    await runScript(text, version, bundle, `kernel:${bundle}`);
    void cacheBundle(version, bundle, text, digest);
  }
  report(version, { source: 'kernel', bundles, bytes, ms });
}

/** Bundles saved with the notebook, run as they are (never cached: they are its code). A
 * notebook carries the bundles its snapshots need, so the others asked for are skipped.
 * The names of the bundles run. */
async function fromNotebook(
  saved: SavedBundles | undefined,
  version: string,
  bundles: string[]
): Promise<string[]> {
  const started = performance.now();
  const texts = saved === undefined ? new Map<string, string>() : await saved(version);
  const carried = bundles.filter(bundle => texts.has(bundle));
  if (!texts.has('bokeh') && !loaded.get(version)?.has('bokeh')) {
    const server = PageConfig.getOption(SERVER_BOKEH_OPTION);
    throw new NotOnServerError(
      `BokehJS ${version} is not on this Jupyter server, whose bokeh is ${server}, and no ` +
        `kernel is connected to send it: run the cell to show this output live, or ` +
        `install bokeh ${version} where JupyterLab runs.`
    );
  }
  let bytes = 0;
  for (const bundle of carried) {
    const text = texts.get(bundle)!;
    await runScript(text, version, bundle, `notebook:${bundle}`);
    bytes += text.length;
  }
  report(version, { source: 'notebook', bundles: carried, bytes, ms: performance.now() - started });
  return carried;
}

/** The given bundles at version, from the fastest source that has them (see top); the
 * names of those loaded (all of them, but where a notebook's saved copy is the source). */
async function addBundles(
  baseUrl: string,
  version: string,
  bundles: string[],
  deliver: KernelDelivery | undefined,
  saved: SavedBundles | undefined
): Promise<string[]> {
  const server = PageConfig.getOption(SERVER_BOKEH_OPTION);
  if (server === version) {
    const started = performance.now();
    let bytes = 0;
    for (const bundle of bundles) {
      bytes += await addScript(baseUrl + bokehjsUrlPath(version, bundle), version, bundle);
    }
    report(version, { source: 'server', bundles, bytes, ms: performance.now() - started });
    return bundles;
  }
  const started = performance.now();
  const cached = new Map<string, string>();
  for (const bundle of bundles) {
    const text = await cachedBundle(version, bundle);
    if (text === undefined) {
      break; // bundles run in order: the rest comes from elsewhere
    }
    cached.set(bundle, text);
  }
  let bytes = 0;
  for (const [bundle, text] of cached) {
    await runScript(text, version, bundle, `cache:${bundle}`);
    bytes += text.length;
  }
  if (cached.size > 0) {
    report(version, { source: 'cache', bundles: [...cached.keys()], bytes, ms: performance.now() - started });
  }
  const rest = bundles.filter(bundle => !cached.has(bundle));
  if (rest.length === 0) {
    return bundles;
  }
  if (deliver !== undefined) {
    await fromKernel(deliver, version, rest);
    return bundles;
  }
  if (server !== '') {
    // the server said it has another bokeh: asking it would only fail
    return [...cached.keys(), ...(await fromNotebook(saved, version, rest))];
  }
  // no kernel to ask (a saved snapshot) and a server that did not say: its route explains
  for (const bundle of rest) {
    await addScript(baseUrl + bokehjsUrlPath(version, bundle), version, bundle);
  }
  return bundles;
}

/** BokehJS at version with at least the given bundles; each is loaded once per page.
 * ``deliver`` asks the output's kernel for bundles the server cannot serve; ``saved``,
 * where no kernel is, the notebook (see SavedBundles). */
export async function loadBokehJS(
  baseUrl: string,
  version: string,
  bundles: string[],
  deliver?: KernelDelivery,
  saved?: SavedBundles
): Promise<IBokehJS> {
  // both become parts of a URL path: a plain version and known bundle names only
  if (!BOKEH_VERSION.test(version)) {
    throw new Error(`${JSON.stringify(version.slice(0, 40))} is not a bokeh version`);
  }
  const unknown = bundles.filter(
    bundle => !CORE_BUNDLES.includes(bundle) && !OPTIONAL_BUNDLES.includes(bundle)
  );
  if (unknown.length > 0) {
    throw new Error(`unknown BokehJS bundles: ${unknown.join(', ').slice(0, 80)}`);
  }
  const chain = (chains.get(version) ?? Promise.resolve()).then(async () => {
    let done = loaded.get(version);
    if (done === undefined) {
      done = new Set();
      loaded.set(version, done);
    }
    if (bokehGlobal()?.[jsVersion(version)] != null) {
      done.add('bokeh'); // this version is on the page already
    }
    const missing = bundles.filter(bundle => !done!.has(bundle));
    if (missing.length > 0) {
      const added = await addBundles(baseUrl, version, missing, deliver, saved);
      added.forEach(bundle => done!.add(bundle));
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

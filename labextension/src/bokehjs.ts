// BokehJS, loaded at run time at exactly the kernel's bokeh version from the Jupyter
// server (never from a CDN, never bundled into this extension). BokehJS registers each
// version it loads under window.Bokeh[version], so several versions can coexist.

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
  on_change(cb: (event: IBkEvent) => void, allowBatches: true): void;
  remove_on_change(cb: (event: IBkEvent) => void): void;
  apply_json_patch(patch: unknown, buffers?: Map<string, ArrayBuffer>): void;
  create_json_patch(events: IBkEvent[]): unknown;
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
}

interface IBokehGlobal {
  [version: string]: { require(name: string): Record<string, unknown> } | undefined;
}

/** Why BokehJS could not be loaded, in words for the person looking at the output. */
export class BokehJSLoadError extends Error {}

const chains = new Map<string, Promise<void>>();
const loaded = new Map<string, Set<string>>();

function bokehGlobal(): IBokehGlobal | undefined {
  return (window as unknown as { Bokeh?: IBokehGlobal }).Bokeh;
}

async function explanation(response: Response, version: string): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === 'string') {
      return body.message;
    }
  } catch {
    // not our JSON answer: the route itself is missing
  }
  return (
    `BokehJS ${version} could not be loaded from this Jupyter server (HTTP ` +
    `${response.status}): is bokeh_nb installed and enabled in the environment that runs ` +
    'JupyterLab? pip install bokeh_nb there, restart the server and reload the page.'
  );
}

/** Fetch a bundle (same origin, with the server's auth) and run it. */
async function addScript(url: string, version: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (err) {
    throw new BokehJSLoadError(`BokehJS ${version} could not be fetched: ${err}`);
  }
  if (!response.ok) {
    throw new BokehJSLoadError(await explanation(response, version));
  }
  const blobUrl = URL.createObjectURL(await response.blob());
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
  return {
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
        await addScript(baseUrl + bokehjsUrlPath(version, bundle), version);
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

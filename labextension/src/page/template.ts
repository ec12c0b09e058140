// An app's own page template (an app directory's templates/index.html, or doc.template),
// rendered in the kernel (bokeh_nb/kernel/template.py) and sent over the page's websocket
// in one message of its own type ahead of the document: the page takes the template's
// head (title, styles) and body around its session's roots, as `bokeh serve` renders it.
// The template's scripts are put back as new elements, so the page's CSP decides: a
// script from this server runs, an inline one (it cannot carry the page's nonce) does not.

/** What the page's data says of templates (page.py's `template`). */
export interface ITemplateInfo {
  /** The websocket query argument that asks for the template. */
  arg: string;
  /** The type of the message that brings it. */
  msgtype: string;
}

/** The message's content (kernel/template.py template_frame). */
export interface ITemplate {
  html: string;
  /** The ids of the document's roots, in order. */
  root_ids: string[];
  /** How the template names the app's static files (`{app}/static/`), or null. */
  prefix: string | null;
}

/** The longest text fragment that is read to see whether it is the template's header. */
const HEADER_BYTES = 1024;

/** Listen on the session's websocket for the template's message (the header fragment,
 * then metadata, then content); `received()` gives it once it came. */
export function watchTemplate(
  socket: WebSocket | null,
  msgtype: string
): { received(): ITemplate | null; stop(): void } {
  let template: ITemplate | null = null;
  let skip = -1; // fragments until the content, once the header was seen
  const listener = (event: MessageEvent): void => {
    if (typeof event.data !== 'string') {
      return;
    }
    if (skip > 0) {
      skip -= 1;
      if (skip === 0) {
        template = JSON.parse(event.data) as ITemplate;
        skip = -1;
      }
      return;
    }
    if (event.data.length <= HEADER_BYTES && event.data.includes(msgtype)) {
      try {
        const header = JSON.parse(event.data) as { msgtype?: string };
        if (header.msgtype === msgtype) {
          skip = 2;
        }
      } catch {
        // not a header
      }
    }
  };
  socket?.addEventListener('message', listener);
  return {
    received: () => template,
    stop: () => socket?.removeEventListener('message', listener)
  };
}

/** The page's address of a URL in the template: `{app}/static/...` (relative, as
 * `bokeh serve` apps write it, or from the server's root) is the app's static route below
 * this page; any other URL stays. */
export function staticUrl(url: string, prefix: string | null, appPath: string): string {
  if (prefix === null) {
    return url;
  }
  const relative = url.startsWith('/') ? url.substring(1) : url;
  if (!relative.startsWith(prefix)) {
    return url;
  }
  return `${appPath}/static/${relative.substring(prefix.length)}`;
}

/** A script of the template as a new element: one the page's CSP lets run runs. */
function freshScript(old: HTMLScriptElement): HTMLScriptElement {
  const script = document.createElement('script');
  for (const attr of Array.from(old.attributes)) {
    if (attr.name !== 'nonce') {
      script.setAttribute(attr.name, attr.value);
    }
  }
  script.text = old.text;
  return script;
}

/** Put the template on the page, in place of `root` (which stays, after the template's
 * body, for the roots the template does not embed); the elements of the document's
 * roots, in order (`root` for those it does not embed). */
export function applyTemplate(
  template: ITemplate,
  appPath: string,
  root: HTMLElement,
  rootIds: string[]
): HTMLElement[] {
  const parsed = new DOMParser().parseFromString(template.html, 'text/html');
  for (const element of Array.from(parsed.querySelectorAll('[href], [src]'))) {
    for (const name of ['href', 'src']) {
      const value = element.getAttribute(name);
      if (value !== null) {
        element.setAttribute(name, staticUrl(value, template.prefix, appPath));
      }
    }
  }
  if (parsed.title) {
    document.title = parsed.title;
  }
  // (adopted, they stay these elements; as parsed, none of them would ever run)
  const scripts = Array.from(parsed.querySelectorAll('script'));
  for (const node of Array.from(parsed.head.childNodes)) {
    if (node instanceof HTMLTitleElement) {
      continue;
    }
    if (node instanceof HTMLMetaElement && node.hasAttribute('charset')) {
      continue;
    }
    document.head.appendChild(document.adoptNode(node));
  }
  for (const attr of Array.from(parsed.body.attributes)) {
    document.body.setAttribute(attr.name, attr.value);
  }
  const body = document.createDocumentFragment();
  for (const node of Array.from(parsed.body.childNodes)) {
    body.appendChild(document.adoptNode(node));
  }
  root.before(body);
  for (const script of scripts) {
    script.replaceWith(freshScript(script));
  }
  const embedded = new Map<string, HTMLElement>();
  for (const element of Array.from(document.querySelectorAll<HTMLElement>('[data-root-id]'))) {
    embedded.set(element.dataset.rootId ?? '', element);
  }
  return rootIds.map(id => embedded.get(id) ?? root);
}

// What a standalone app page says when it cannot show its app: pure functions of the
// page's data (the `#bokeh-nb-item` JSON that bokeh_nb/server/page.py writes, texts from
// its PROBLEMS), so node tests them without a browser. app.ts puts them on the page.

/** Which case the page's alert shows (its `data-problem`, for tests and styles). */
export type ProblemKind = 'app' | 'bokehjs' | 'websocket' | 'lost';

/** The texts of page.py's PROBLEMS (an app file's page: FILE_PROBLEMS). */
export interface IProblemTexts {
  app: string;
  /** An app file's page only: what follows `app` when the server closed the websocket
   * without a reason (with one, the reason follows `app`). */
  no_reason?: string;
  /** What a page shows before the reason its websocket closed with when that reason
   * says the app's template failed (it contains `template_failed`). */
  template?: string;
  template_failed?: string;
  bokehjs: string;
  websocket: string;
  proxy: string;
  lost: string;
}

/** The page's data, as page.py writes it. */
export interface IPageItem {
  /** The server's bokeh version: BokehJS registers itself as window.Bokeh[version]. */
  version: string;
  /** The app's path on this server; its websocket is `{app_path}/ws`. */
  app_path: string;
  /** Where the page loads BokehJS from (for the message when it could not). */
  bokehjs: string;
  problems: IProblemTexts;
  /** How the app's own template reaches the page (template.ts). */
  template?: { arg: string; msgtype: string };
  render_item: { token: string; elementid: string; use_for_title: boolean };
}

export interface IProblem {
  kind: ProblemKind;
  text: string;
}

/** A share link's path, which is its credential (SHARE_ROUTE in protocol.ts). */
const SHARE_PATH = /\/bokeh-nb\/s\/[^/?#]+/;

/** A URL as a message may show it: a share link's token is never part of one. */
export function shown(url: string): string {
  return url.replace(SHARE_PATH, '/bokeh-nb/s/[link]');
}

/** The websocket of the app at `appPath`, as BokehJS makes it from the page's address. */
export function websocketUrl(appPath: string, pageUrl: string): string {
  const page = new URL(pageUrl);
  return `${page.protocol === 'https:' ? 'wss:' : 'ws:'}//${page.host}${appPath}/ws`;
}

/** BokehJS is not on the page: the server's address, as the page reached it, is wrong. */
export function bokehjsMissing(item: IPageItem, pageUrl: string): IProblem {
  const url = new URL(item.bokehjs, pageUrl).href;
  const { bokehjs, proxy } = item.problems;
  return { kind: 'bokehjs', text: `${bokehjs} ${shown(url)}. ${proxy}` };
}

/** The session did not start. BokehJS reports a websocket that never opened and an app
 * that refused the session alike: whether the socket opened tells the way there (a proxy
 * that does not forward websockets) from the app (not in the kernel, or failing). An app
 * file's page adds `reason`, what the server closed the websocket with (the file, and what
 * its code raised), as it may be shown. */
export function sessionFailed(
  item: IPageItem,
  pageUrl: string,
  opened: boolean,
  reason = ''
): IProblem {
  const { app, no_reason, websocket, proxy, template, template_failed } = item.problems;
  if (opened) {
    if (no_reason === undefined) {
      if (template !== undefined && template_failed && reason.includes(template_failed)) {
        return { kind: 'app', text: `${template} ${shown(reason.trim())}` };
      }
      return { kind: 'app', text: app };
    }
    return { kind: 'app', text: `${app} ${shown(reason.trim()) || no_reason}` };
  }
  const url = new URL(websocketUrl(item.app_path, pageUrl)).href;
  return { kind: 'websocket', text: `${websocket} ${shown(url)}. ${proxy}` };
}

/** The session's websocket closed after it had opened. */
export function connectionLost(item: IPageItem): IProblem {
  return { kind: 'lost', text: item.problems.lost };
}

/** Whether the alert offers to reload the page (a new session of the app). */
export function offersReload(kind: ProblemKind): boolean {
  return kind === 'lost';
}

/** Whether BokehJS reconnecting by itself (within the session's linger, to the same
 * session) takes the alert showing `kind` away. */
export function clearedByReconnect(kind: ProblemKind | undefined): boolean {
  return kind === 'lost';
}

// The "Bokeh apps" side panel: the live apps of every kernel that uses bokeh_nb, with
// their sessions and share links, and the buttons to open, share and revoke.
import { PageConfig } from '@jupyterlab/coreutils';
import type { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { APPS_TARGET, SHARE_SECONDS } from './protocol';
import { appUrl, createShare, IShare, revokeShare, sharesApi } from './shares';

interface IApp {
  name: string;
  sessions: number;
}

/** The kernels that asked for bokeh_nb (their probe reached this page), by kernel id,
 * with the path of the document that runs each. */
export const bokehKernels = new Map<string, { kernel: Kernel.IKernelConnection; path: string }>();

/** A kernel's live apps, asked over APPS_TARGET (an empty list if it does not answer). */
async function listApps(kernel: Kernel.IKernelConnection): Promise<IApp[]> {
  if (kernel.isDisposed || kernel.connectionStatus !== 'connected') {
    return [];
  }
  const comm = kernel.createComm(APPS_TARGET);
  const answer = new Promise<IApp[]>(resolve => {
    comm.onMsg = msg => resolve(((msg.content.data as { apps?: IApp[] }).apps ?? []) as IApp[]);
    comm.onClose = () => resolve([]);
    setTimeout(() => resolve([]), 5000);
  });
  comm.open({});
  const apps = await answer;
  if (!comm.isDisposed) {
    comm.close();
  }
  return apps;
}

function button(label: string, onClick: () => Promise<void> | void): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = label;
  b.onclick = () => void onClick();
  return b;
}

export class AppsPanel extends Widget {
  private _timer = 0;
  private _body: HTMLElement;

  constructor() {
    super();
    this.id = 'bokeh-nb-apps';
    this.addClass('bokeh-nb-apps-panel');
    this.title.label = 'Bokeh apps';
    this.title.caption = 'Live Bokeh apps of the running kernels';
    this.node.style.cssText = 'padding:8px;overflow:auto;font-size:var(--jp-ui-font-size1,13px);';
    const header = document.createElement('div');
    header.style.cssText = 'display:flex;justify-content:space-between;align-items:center;';
    const title = document.createElement('h3');
    title.textContent = 'Bokeh apps';
    title.style.margin = '0 0 8px 0';
    header.append(title, button('Refresh', () => this.refresh()));
    this._body = document.createElement('div');
    this.node.append(header, this._body);
  }

  protected onAfterShow(): void {
    void this.refresh();
    this._timer = window.setInterval(() => void this.refresh(), 5000);
  }

  protected onBeforeHide(): void {
    window.clearInterval(this._timer);
  }

  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    let shares: IShare[] = [];
    try {
      shares = await sharesApi('GET', '');
    } catch {
      shares = [];
    }
    const sections: HTMLElement[] = [];
    for (const [kernelId, { kernel, path }] of bokehKernels) {
      if (kernel.isDisposed) {
        bokehKernels.delete(kernelId);
        continue;
      }
      const apps = await listApps(kernel);
      if (apps.length > 0) {
        sections.push(this._kernelSection(kernelId, path, apps, shares));
      }
    }
    if (sections.length === 0) {
      const none = document.createElement('p');
      none.className = 'bokeh-nb-apps-empty';
      none.textContent = 'No live apps: make one with bokeh_nb.App(...) in a notebook.';
      sections.push(none);
    }
    this._body.replaceChildren(...sections);
  }

  private _kernelSection(
    kernelId: string,
    path: string,
    apps: IApp[],
    shares: IShare[]
  ): HTMLElement {
    const section = document.createElement('section');
    section.className = 'bokeh-nb-apps-kernel';
    section.dataset.kernelId = kernelId;
    const heading = document.createElement('h4');
    heading.textContent = path || `kernel ${kernelId}`;
    heading.style.margin = '8px 0 4px 0';
    section.appendChild(heading);
    for (const app of apps) {
      const row = document.createElement('div');
      row.className = 'bokeh-nb-apps-app';
      row.dataset.app = app.name;
      row.style.cssText = 'display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:2px 0;';
      const name = document.createElement('strong');
      name.textContent = app.name;
      const count = document.createElement('span');
      count.className = 'bokeh-nb-apps-sessions';
      count.textContent = `${app.sessions} session${app.sessions === 1 ? '' : 's'}`;
      const open = document.createElement('a');
      open.textContent = 'Open';
      open.target = '_blank';
      open.rel = 'noopener';
      open.href = appUrl(kernelId, app.name);
      const share = button('Share (view)', async () => {
        const link = await createShare(kernelId, app.name, 'view', SHARE_SECONDS);
        try {
          await navigator.clipboard.writeText(link.url);
        } catch {
          // the link is listed below either way
        }
        await this.refresh();
      });
      row.append(name, count, open, share);
      section.appendChild(row);
      for (const link of shares.filter(s => s.kernel_id === kernelId && s.app === app.name)) {
        const item = document.createElement('div');
        item.className = 'bokeh-nb-apps-share';
        item.style.cssText = 'margin-left:12px;display:flex;gap:6px;align-items:center;';
        const what = document.createElement('a');
        what.href = new URL(link.path, PageConfig.getBaseUrl()).href;
        what.target = '_blank';
        what.rel = 'noopener noreferrer';
        const until = new Date(link.expires_at * 1000).toLocaleTimeString();
        what.textContent = `${link.mode} link, until ${until}`;
        item.append(
          what,
          button('Revoke', async () => {
            await revokeShare(link.id);
            await this.refresh();
          })
        );
        section.appendChild(item);
      }
    }
    return section;
  }
}

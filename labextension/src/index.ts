import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';

import { bokehJSOnPage } from './bokehjs';
import { BokehOutput } from './output';
import { FILES_ROUTE, FRONTEND_TARGET, OUTPUT_MIME, WIDGET_MODULE } from './protocol';
import { AppsPanel, bokehKernels } from './panel';
import { currentSnapshot, forgetEndedExcept } from './registry';
import { IOutputList, saveSnapshots } from './snapshot';
import { createShare, revokeShare } from './shares';
import { version as PACKAGE_VERSION } from '../package.json';

/** Make or revoke a share link the kernel asked for (see kernel/share.py). */
async function answerShareRequest(data: JSONObject): Promise<JSONObject> {
  try {
    if (data.request === 'share') {
      const share = await createShare(
        data.kernel_id as string,
        data.app as string,
        data.mode as string,
        data.expires as number
      );
      return { share: share as unknown as JSONObject };
    }
    await revokeShare(String(data.id));
    return { revoked: true };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Tell the kernel that this frontend renders bokeh_nb outputs (see kernel/probe.py), and
 * answer its requests for share links: only the page whose client ran the code answers
 * those, so two open pages of one notebook never make two links. */
function answerProbes(kernel: Kernel.IKernelConnection | null | undefined, path: string): void {
  kernel?.registerCommTarget(FRONTEND_TARGET, (comm, msg: KernelMessage.ICommOpenMsg) => {
    const data = msg.content.data as JSONObject;
    if (data.request === 'share' || data.request === 'revoke') {
      const parent = msg.parent_header as { session?: string };
      if (parent.session !== kernel.clientId) {
        comm.dispose(); // forget it here without closing it in the kernel
        return;
      }
      void answerShareRequest(data).then(answer => {
        comm.send(answer);
        comm.close();
      });
      return;
    }
    bokehKernels.set(kernel.id, { kernel, path });
    comm.send({ version: PACKAGE_VERSION, base_url: PageConfig.getBaseUrl() });
    comm.close();
  });
}

/** The outputs of every code cell of a notebook's model (a document without cells: none). */
function* outputLists(model: unknown): Iterable<IOutputList> {
  const cells = (model as { cells?: Iterable<{ type: string; outputs?: IOutputList }> }).cells;
  for (const cell of cells ?? []) {
    if (cell.type === 'code' && cell.outputs !== undefined) {
      yield cell.outputs;
    }
  }
}

/** As a notebook's save starts, every bokeh_nb output takes its document's current state
 * as its snapshot (see snapshot.ts). */
function snapshotOnSave(context: DocumentRegistry.Context): void {
  context.saveState.connect((_context, state) => {
    if (state !== 'started') {
      return;
    }
    try {
      const { modelIds } = saveSnapshots(outputLists(context.model), currentSnapshot, bokehJSOnPage);
      forgetEndedExcept(modelIds);
    } catch (err) {
      console.error('bokeh_nb: snapshots were not updated before this save', err);
    }
  });
}

/** Answer probes on the kernel of every document that has one (notebooks), now and later,
 * and snapshot their bokeh_nb outputs at each save. */
function watchDocuments(app: JupyterFrontEnd): void {
  const watch = (context: DocumentRegistry.Context | undefined) => {
    const sessionContext = context?.sessionContext;
    if (sessionContext === undefined) {
      return;
    }
    snapshotOnSave(context!);
    answerProbes(sessionContext.session?.kernel, context!.path);
    sessionContext.kernelChanged.connect((_ctx, change) =>
      answerProbes(change.newValue, context!.path)
    );
  };
  for (const factory of app.docRegistry.widgetFactories()) {
    factory.widgetCreated.connect((_factory, widget) =>
      watch((widget as { context?: DocumentRegistry.Context }).context)
    );
  }
  app.docRegistry.changed.connect((_registry, change) => {
    if (change.type === 'widgetFactory' && change.change === 'added') {
      app.docRegistry
        .getWidgetFactory(change.name ?? '')
        ?.widgetCreated.connect((_factory, widget) =>
          watch((widget as { context?: DocumentRegistry.Context }).context)
        );
    }
  });
}

/** "Open as Bokeh app" in the file browser's context menu: a script, notebook or app
 * directory as a full-page session at ``bokeh-nb/files/{path}``, in a kernel of its own. */
function fileAppCommand(app: JupyterFrontEnd, factory: IFileBrowserFactory | null): void {
  if (factory === null) {
    return;
  }
  const selected = () => {
    const item = factory.tracker.currentWidget?.selectedItems().next();
    const model = item && !item.done ? item.value : undefined;
    if (model === undefined) {
      return undefined;
    }
    const isApp =
      model.type === 'directory' || model.path.endsWith('.py') || model.path.endsWith('.ipynb');
    return isApp ? model.path : undefined;
  };
  app.commands.addCommand('bokeh-nb:open-file-app', {
    label: 'Open as Bokeh app',
    isVisible: () => selected() !== undefined,
    execute: () => {
      const path = selected();
      if (path !== undefined) {
        const route = FILES_ROUTE.replace('{path}', URLExt.encodeParts(path));
        window.open(URLExt.join(PageConfig.getBaseUrl(), route), '_blank', 'noopener');
      }
    }
  });
  app.contextMenu.addItem({
    command: 'bokeh-nb:open-file-app',
    selector: '.jp-DirListing-item[data-isdir]',
    rank: 3
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'bokeh-nb:widgets',
  description: 'Live Bokeh documents in the notebook, synced with the kernel over comms.',
  requires: [IJupyterWidgetRegistry, IRenderMimeRegistry],
  optional: [IFileBrowserFactory],
  autoStart: true,
  activate: (
    app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry,
    rendermime: IRenderMimeRegistry,
    fileBrowsers: IFileBrowserFactory | null
  ) => {
    // Ahead of the widget view (ipywidgets' renderer ranks -10): live while this page has
    // the output's model, else its saved snapshot. Safe: an untrusted output never runs
    // a snapshot's code (output.ts).
    rendermime.addFactory(
      { safe: true, mimeTypes: [OUTPUT_MIME], createRenderer: () => new BokehOutput() },
      -20
    );
    registry.registerWidget({
      name: WIDGET_MODULE,
      version: PACKAGE_VERSION,
      // BokehJS and the widget code load only when an output needs them.
      exports: async () => {
        const [{ BokehModel }, { BokehView }] = await Promise.all([
          import('./widget'),
          import('./view')
        ]);
        return { BokehModel, BokehView };
      }
    });
    watchDocuments(app);
    fileAppCommand(app, fileBrowsers);
    const panel = new AppsPanel();
    app.shell.add(panel, 'right', { rank: 900 });
    app.commands.addCommand('bokeh-nb:show-apps', {
      label: 'Show Bokeh apps',
      execute: () => app.shell.activateById(panel.id)
    });
  }
};

export default plugin;

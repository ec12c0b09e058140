// The JupyterLab / Notebook 7 features that need the Jupyter server's API or services a
// dashboard host (Voilà) does not have: snapshots written at each save, the "Bokeh apps"
// side panel, "Open as Bokeh app" in the file browser. This module is its own chunk,
// loaded by the 'bokeh-nb:lab' plugin only: where @jupyterlab/filebrowser is not shared
// (Voilà), loading it fails and the widget plugin goes on without these.

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';

import { isAppPath } from './apppaths';
import { bokehJSOnPage } from './bokehjs';
import { AppsPanel } from './panel';
import { livePicture } from './livepicture';
import { answerProbes } from './probes';
import { FILES_ROUTE } from './protocol';
import { currentSnapshot, forgetEndedExcept } from './registry';
import { useTrustCommand } from './sanitize';
import { IOutputList, saveSnapshots } from './snapshot';

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
      const { modelIds } = saveSnapshots(
        outputLists(context.model),
        currentSnapshot,
        bokehJSOnPage,
        livePicture
      );
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
    return isAppPath(model.path, model.type === 'directory') ? model.path : undefined;
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

/** Activate the JupyterLab-only features in app: each that finds what it needs. */
export async function activateLab(app: JupyterFrontEnd): Promise<void> {
  watchDocuments(app);
  // the trust button of an untrusted output runs the host's own "Trust Notebook"
  if (app.commands.hasCommand('notebook:trust')) {
    useTrustCommand(() => app.commands.execute('notebook:trust'));
  }
  fileAppCommand(app, await app.resolveOptionalService(IFileBrowserFactory));
  const panel = new AppsPanel();
  app.shell.add(panel, 'right', { rank: 900 });
  app.commands.addCommand('bokeh-nb:show-apps', {
    label: 'Show Bokeh apps',
    execute: () => app.shell.activateById(panel.id)
  });
}

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { Kernel } from '@jupyterlab/services';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';

import { FRONTEND_TARGET, WIDGET_MODULE } from './protocol';
import { version as PACKAGE_VERSION } from '../package.json';

/** Tell the kernel that this frontend renders bokeh_nb outputs (see kernel/probe.py). */
function answerProbes(kernel: Kernel.IKernelConnection | null | undefined): void {
  kernel?.registerCommTarget(FRONTEND_TARGET, comm => {
    comm.send({ version: PACKAGE_VERSION, base_url: PageConfig.getBaseUrl() });
    comm.close();
  });
}

/** Answer probes on the kernel of every document that has one (notebooks), now and later. */
function watchDocuments(app: JupyterFrontEnd): void {
  const watch = (context: DocumentRegistry.Context | undefined) => {
    const sessionContext = context?.sessionContext;
    if (sessionContext === undefined) {
      return;
    }
    answerProbes(sessionContext.session?.kernel);
    sessionContext.kernelChanged.connect((_ctx, change) => answerProbes(change.newValue));
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

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'bokeh-nb:widgets',
  description: 'Live Bokeh documents in the notebook, synced with the kernel over comms.',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (app: JupyterFrontEnd, registry: IJupyterWidgetRegistry) => {
    registry.registerWidget({
      name: WIDGET_MODULE,
      version: PACKAGE_VERSION,
      // BokehJS and the widget code load only when an output needs them.
      exports: async () => {
        const { BokehModel, BokehView } = await import('./widget');
        return { BokehModel, BokehView };
      }
    });
    watchDocuments(app);
  }
};

export default plugin;

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';

import { WIDGET_MODULE } from './protocol';

const PACKAGE_VERSION = '0.1.0';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'bokeh-nb:widgets',
  description: 'Live Bokeh documents in the notebook, synced with the kernel over comms.',
  requires: [IJupyterWidgetRegistry],
  autoStart: true,
  activate: (_app: JupyterFrontEnd, registry: IJupyterWidgetRegistry) => {
    registry.registerWidget({
      name: WIDGET_MODULE,
      version: PACKAGE_VERSION,
      // BokehJS and the widget code load only when an output needs them.
      exports: async () => {
        const { BokehModel, BokehView } = await import('./widget');
        return { BokehModel, BokehView };
      }
    });
  }
};

export default plugin;

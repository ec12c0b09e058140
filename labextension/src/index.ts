import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';

import { BokehOutput } from './output';
import { OUTPUT_MIME, SHARE_MIME, WIDGET_MODULE } from './protocol';
import { ShareOutput } from './shares';
import { version as PACKAGE_VERSION } from '../package.json';

/** The widget and its renderer: all a host needs to show live bokeh_nb outputs. It
 * requires only the widget registry, so it registers wherever ipywidgets render
 * (JupyterLab, Notebook 7, Voilà). */
const widgets: JupyterFrontEndPlugin<void> = {
  id: 'bokeh-nb:widgets',
  description: 'Live Bokeh documents in the notebook, synced with the kernel over comms.',
  requires: [IJupyterWidgetRegistry],
  optional: [IRenderMimeRegistry],
  autoStart: true,
  activate: (
    _app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry,
    rendermime: IRenderMimeRegistry | null
  ) => {
    // Ahead of the widget view (ipywidgets' renderer ranks -10): live while this page has
    // the output's model, else its saved snapshot. Safe: an untrusted output never runs
    // a snapshot's code (output.ts).
    rendermime?.addFactory(
      {
        safe: true,
        mimeTypes: [OUTPUT_MIME],
        // the registry's options carry its sanitizer (the user's settings included)
        createRenderer: options => new BokehOutput(options)
      },
      -20
    );
    // a share link's output: its URL only in the page that made it (shares.ts)
    rendermime?.addFactory(
      { safe: true, mimeTypes: [SHARE_MIME], createRenderer: () => new ShareOutput() },
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
  }
};

/** Snapshots at each save, the "Bokeh apps" side panel and "Open as Bokeh app": optional
 * features of JupyterLab and Notebook 7, in a chunk of their own (lab.ts). A host
 * without the services they use (Voilà shares no @jupyterlab/filebrowser) simply has
 * none of them. */
const lab: JupyterFrontEndPlugin<void> = {
  id: 'bokeh-nb:lab',
  description: 'Bokeh apps side panel, file-browser command and snapshots on save.',
  autoStart: true,
  activate: async (app: JupyterFrontEnd) => {
    let activateLab: (app: JupyterFrontEnd) => Promise<void>;
    try {
      ({ activateLab } = await import('./lab'));
    } catch (err) {
      console.info(`bokeh_nb: no side panel or file-browser command in this host (${err})`);
      return;
    }
    await activateLab(app);
  }
};

export default [widgets, lab];

// Python's and BokehJS's names of one bokeh version (shared by the notebook extension and
// the app page's script).

/** A bokeh version as Python names it ('3.9.2', '3.10.0.dev5', '3.10.0rc1'). */
export const BOKEH_VERSION = /^\d+\.\d+\.\d+(\.?(dev|rc)\.?\d+)?$/;

/** The name BokehJS registers a Python bokeh version under: its npm version
 * ('3.10.0.dev5' is '3.10.0-dev.5', '3.10.0rc1' is '3.10.0-rc.1'). */
export function jsVersion(version: string): string {
  const m = /^(\d+\.\d+\.\d+)\.?(dev|rc)\.?(\d+)$/.exec(version);
  return m ? `${m[1]}-${m[2]}.${m[3]}` : version;
}

// Which paths are Bokeh apps, as `bokeh serve` and bokeh_nb's app files take them
// (bokeh_nb/apps.py holds the same rule, APP_SUFFIXES included, checked equal by
// tests/unit/test_frontend_logic.py): a `.py` script, a `.ipynb` notebook, or a directory
// (an app when it has a main.py or main.ipynb, which the server checks).

/** The suffixes of app files, as Python's `Path.suffix` gives them. */
export const APP_SUFFIXES: readonly string[] = ['.py', '.ipynb'];

/** The suffix of a path's last part, as Python's `Path.suffix` says it: from its last dot,
 * '' for a name without one, a name that starts with its only dot ('.py') or ends in one. */
export function suffixOf(path: string): string {
  const name = path.replace(/\/+$/, '').split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot) : '';
}

/** Whether a path may be opened as a Bokeh app: a script or notebook by its suffix, any
 * directory (the server refuses one without a main.py or main.ipynb, saying so). */
export function isAppPath(path: string, isDirectory: boolean): boolean {
  return isDirectory || APP_SUFFIXES.includes(suffixOf(path));
}

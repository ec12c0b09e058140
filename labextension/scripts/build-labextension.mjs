#!/usr/bin/env node
/*
 * Build the prebuilt JupyterLab extension into ../bokeh_nb/labextension.
 *
 * Usage:  node scripts/build-labextension.mjs [--development] [--source-map]
 *
 * Why not simply `jupyter labextension build .`?
 *   With JupyterLab >= 4.6 that command delegates to `jupyter-builder`, which
 *   by default resolves JupyterLab's core metadata (core.package.json) over
 *   the network (npm registry / GitHub).  We instead hand it the metadata of the
 *   JupyterLab that is actually installed next to the Python interpreter
 *   (<site-packages>/jupyterlab/staging/package.json), so the build is offline
 *   and always matches the JupyterLab version we build against.
 *
 * Python interpreter selection (first one that can import jupyterlab and
 * jupyter_builder wins):
 *   1. $BOKEH_NB_PYTHON or $PYTHON (explicit override)
 *   2. `python` / `python3` on PATH -- inside an isolated pip / `python -m
 *      build` environment this is the build env's interpreter, which has
 *      jupyterlab because it is a build requirement
 *   3. the repository's .venv (convenience for `npm run build` without an
 *      activated virtualenv)
 *
 * After the build we copy install.json next to the built package.json and
 * verify that BokehJS has not been bundled: BokehJS is
 * provided at runtime by the Python `bokeh` package and must never end up in
 * the labextension bundle.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXT_DIR = path.resolve(HERE, '..');
const REPO_ROOT = path.resolve(EXT_DIR, '..');

const ALLOWED_FLAGS = new Set(['--development', '--source-map']);

function fail(msg) {
  console.error(`[build-labextension] ERROR: ${msg}`);
  process.exit(1);
}

function log(msg) {
  console.log(`[build-labextension] ${msg}`);
}

const PROBE = [
  'import os, jupyterlab, jupyter_builder',
  "print(os.path.join(os.path.dirname(jupyterlab.__file__), 'staging', 'package.json'))"
].join('; ');

function probePython(candidate) {
  const res = spawnSync(candidate, ['-c', PROBE], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    return null;
  }
  const corePackageFile = res.stdout.trim().split(/\r?\n/).pop();
  if (!corePackageFile || !fs.existsSync(corePackageFile)) {
    return null;
  }
  return corePackageFile;
}

function findPython() {
  const candidates = [];
  for (const name of ['BOKEH_NB_PYTHON', 'PYTHON']) {
    if (process.env[name]) {
      candidates.push(process.env[name]);
    }
  }
  candidates.push('python', 'python3');
  const venvBin = process.platform === 'win32' ? 'Scripts' : 'bin';
  const venvExe = process.platform === 'win32' ? 'python.exe' : 'python';
  candidates.push(path.join(REPO_ROOT, '.venv', venvBin, venvExe));

  for (const candidate of candidates) {
    const corePackageFile = probePython(candidate);
    if (corePackageFile) {
      return { python: candidate, corePackageFile };
    }
  }
  fail(
    'no Python interpreter with jupyterlab and jupyter_builder found ' +
      `(tried: ${candidates.join(', ')}). Activate the project virtualenv ` +
      'or set BOKEH_NB_PYTHON=/path/to/python.'
  );
}

function readJSON(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function checkNoBokehJS(outputDir) {
  const staticDir = path.join(outputDir, 'static');
  if (!fs.existsSync(staticDir)) {
    fail(`build produced no ${staticDir}`);
  }
  const offenders = [];

  // 1. Packages rspack reports as bundled (production builds).
  const licenses = path.join(staticDir, 'third-party-licenses.json');
  if (fs.existsSync(licenses)) {
    for (const pkg of readJSON(licenses).packages ?? []) {
      if (/bokeh/i.test(pkg.name ?? '')) {
        offenders.push(`bundled package ${pkg.name}@${pkg.versionInfo ?? pkg.version}`);
      }
    }
  }

  // 2. Module ids / share keys in the emitted chunks (covers development
  //    builds, which emit no third-party-licenses.json).
  const bokehModule = /(?:node_modules[\\/]+@bokeh[\\/]|["'`]@bokeh\/bokehjs)/;
  for (const file of fs.readdirSync(staticDir)) {
    if (!file.endsWith('.js')) {
      continue;
    }
    const text = fs.readFileSync(path.join(staticDir, file), 'utf8');
    if (bokehModule.test(text)) {
      offenders.push(`static/${file} references @bokeh/* modules`);
    }
  }

  if (offenders.length) {
    fail(
      'BokehJS must not be bundled into the labextension:\n  ' +
        offenders.join('\n  ')
    );
  }
  log('OK: no BokehJS in the bundle');
}

function main() {
  const extraFlags = process.argv.slice(2);
  for (const flag of extraFlags) {
    if (!ALLOWED_FLAGS.has(flag)) {
      fail(`unknown flag ${flag} (allowed: ${[...ALLOWED_FLAGS].join(', ')})`);
    }
  }

  const { python, corePackageFile } = findPython();
  const core = readJSON(corePackageFile);
  log(`python: ${python}`);
  log(`core metadata: ${corePackageFile} (JupyterLab ${core.version})`);

  const pkg = readJSON(path.join(EXT_DIR, 'package.json'));
  const outputDir = path.resolve(EXT_DIR, pkg.jupyterlab.outputDir);

  const args = [
    '-m',
    'jupyter_builder.main',
    'build',
    `--core-package-file=${corePackageFile}`,
    // `--development` is both a flag and an alias in jupyter-builder, so
    // always pass an explicit value or traitlets eats the next argument.
    ...extraFlags.map(flag => `${flag}=True`),
    EXT_DIR
  ];
  log(`${python} ${args.join(' ')}`);
  const res = spawnSync(python, args, { cwd: EXT_DIR, stdio: 'inherit' });
  if (res.error) {
    fail(String(res.error));
  }
  if (res.status !== 0) {
    fail(`jupyter-builder exited with status ${res.status}`);
  }

  checkNoBokehJS(outputDir);

  // install.json tells `jupyter labextension list` that the extension is
  // managed by the Python package (also when symlinked by `develop`).
  fs.copyFileSync(
    path.join(EXT_DIR, 'install.json'),
    path.join(outputDir, 'install.json')
  );
  log(`built ${pkg.name}@${pkg.version} -> ${outputDir}`);
}

main();

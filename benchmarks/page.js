// The in-page half of the benchmarks, installed in every page before its own scripts run
// (Playwright add_init_script). Every time is taken here with performance.now(); Python
// only starts a measurement and collects what it returns.
(() => {
  if (window.__bench) return;
  const B = { seq: 0, uploads: 0, selections: 0, wire: { messages: 0, bytes: 0 }, idleAt: new Map() };

  // ---- frames received on the kernel's websocket and on Bokeh's own websockets --------
  const COUNTED = /\/api\/kernels\/|\/ws(\?|$)/;
  const NativeWebSocket = window.WebSocket;
  class CountingWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      if (COUNTED.test(String(url))) {
        this.addEventListener('message', (e) => {
          if (!e.isTrusted) return; // a fragment bokeh_nb's app page unpacked: counted packed
          const d = e.data;
          const size = typeof d === 'string' ? d.length : d.byteLength ?? d.size ?? 0;
          B.wire.messages += 1;
          B.wire.bytes += size;
          if (size > 2 ** 20) B.wire.bigAt = performance.now(); // when a large frame arrived
        });
      }
    }
  }
  window.WebSocket = CountingWebSocket;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  B.sleep = sleep;

  // ---- documents ------------------------------------------------------------------------
  B.docs = (win = window) => (win.Bokeh && win.Bokeh.documents) || [];
  // The latest document holding a model named `name` (a root, or inside Panel's own root)
  B.findDoc = (name, win = window) => {
    const docs = B.docs(win);
    for (let i = docs.length - 1; i >= 0; i--) {
      if (docs[i].roots().some((r) => r.name === name)) return docs[i];
    }
    for (let i = docs.length - 1; i >= 0; i--) {
      for (const m of docs[i]._all_models.values()) if (m.name === name) return docs[i];
    }
    return null;
  };
  B.model = (doc, name) => {
    for (const m of doc._all_models.values()) if (m.name === name) return m;
    throw new Error(`no model named ${name}`);
  };
  // A document has rendered when every root it shows in the page has painted: BokehJS's
  // idle state, leaving out roots without a DOM view (Panel's CommManager root never
  // becomes idle, so a Panel document is never idle as a whole).
  B.rendered = (doc) => {
    if (doc.is_idle) return true;
    const idle = doc._idle_roots;
    const views = doc.views_manager;
    if (idle == null || views == null) return false;
    const shown = doc.roots().filter((r) => {
      const view = views.get(r);
      return view != null && view.el instanceof Element;
    });
    return shown.length > 0 && shown.every((r) => idle.has(r));
  };
  // Records when each document first has rendered, under the names of its models.
  B.watchIdle = (win = window) => {
    const done = new Set();
    const timer = setInterval(() => {
      for (const doc of B.docs(win)) {
        if (done.has(doc) || !B.rendered(doc)) continue;
        done.add(doc);
        const now = performance.now();
        for (const m of doc._all_models.values()) {
          if (m.name && !B.idleAt.has(m.name)) B.idleAt.set(m.name, now);
        }
      }
    }, 2);
    return () => clearInterval(timer);
  };
  B.waitIdle = async (root, timeout) => {
    const t0 = performance.now();
    while (!B.idleAt.has(root)) {
      if (performance.now() - t0 > timeout) throw new Error(`${root} not rendered in ${timeout} ms`);
      await sleep(5);
    }
    return B.idleAt.get(root);
  };
  B.waitDoc = async (root, timeout, win = window) => {
    const t0 = performance.now();
    for (;;) {
      const doc = B.findDoc(root, win);
      if (doc !== null && B.rendered(doc)) return doc;
      if (performance.now() - t0 > timeout) throw new Error(`${root} not rendered in ${timeout} ms`);
      await sleep(10);
    }
  };

  // ---- the benchmark document ---------------------------------------------------------
  B.bench = (root) => {
    const doc = B.findDoc(root);
    if (doc === null) throw new Error(`no document with a root named ${root}`);
    const m = (name) => B.model(doc, name);
    return {
      doc, s: m('s'), d: m('d'), cmd: m('cmd'), out: m('out'), bulk: m('bulk'), up: m('up'),
      live: m('live'), scatter: m('scatter'), splot: m('splot'),
    };
  };
  B.column = (source, key) => {
    const data = source.data;
    return data instanceof Map ? data.get(key) : data[key];
  };
  B.reply = (b) => {
    try {
      return JSON.parse(b.out.text);
    } catch {
      return {};
    }
  };
  // Resolves with performance.now() once test() holds, checked at each change of model.
  B.until = (model, test, timeout, what, start = null) =>
    new Promise((resolve, reject) => {
      if (start !== null) start();
      if (test()) {
        resolve(performance.now());
        return;
      }
      const check = () => {
        if (test()) {
          clearTimeout(timer);
          model.disconnect(model.change, check);
          resolve(performance.now());
        }
      };
      const timer = setTimeout(() => {
        model.disconnect(model.change, check);
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      model.connect(model.change, check);
    });

  // A command the kernel answers in `out` with the same seq. An answer that has not come
  // after `retryMs` is asked for again (the kernel answers a repeated seq once more):
  // some anchors lose a message now and then, and B.resent counts how often.
  B.resent = 0;
  B.command = async (root, op, args = {}, timeout = 60000, retryMs = 15000) => {
    const b = B.bench(root);
    const seq = ++B.seq;
    const t0 = performance.now();
    const done = B.until(b.out, () => B.reply(b).seq === seq, timeout, `the reply to ${op}`);
    b.cmd.value = JSON.stringify({ seq, op, args });
    let again = 0;
    const retry = Number.isFinite(retryMs)
      ? setInterval(() => {
          B.resent += 1;
          b.cmd.value = JSON.stringify({ seq, op, args, again: ++again });
        }, retryMs)
      : null;
    try {
      const t1 = await done;
      return { seq, ms: t1 - t0, reply: B.reply(b) };
    } finally {
      if (retry !== null) clearInterval(retry);
    }
  };

  // 1. a slider value set here -> Python on_change -> a Div's text applied here
  B.roundTrips = async (root, n, start, timeout) => {
    const b = B.bench(root);
    const times = [];
    for (let i = 1; i <= n; i++) {
      const v = start + i;
      const t0 = performance.now();
      const done = B.until(b.d, () => b.d.text === String(v), timeout, `d.text = ${v}`);
      b.s.value = v;
      times.push((await done) - t0);
    }
    return times;
  };

  const bulkArrived = (b, n, seq, timeout) =>
    B.until(
      b.bulk,
      () => {
        const x = B.column(b.bulk, 'x');
        return x != null && x.length === n && x[0] === seq;
      },
      timeout,
      `${n} values from the kernel`
    );

  // 2. a button-like request for two float64 columns of n values, until BokehJS has them
  B.push = async (root, n, timeout) => {
    const b = B.bench(root);
    const arrived = bulkArrived(b, n, B.seq + 1, timeout);
    const t0 = performance.now();
    await B.command(root, 'push', { n }, timeout);
    return (await arrived) - t0;
  };

  // 1b. the drawn scatter gets two fresh float64 columns of n values from the kernel: from
  // the request until the plot has painted them (its first paint after they arrived)
  B.viewOf = (doc, model) => {
    const seen = new Set();
    const walk = (view) => {
      if (view == null || seen.has(view)) return null;
      seen.add(view);
      if (view.model === model) return view;
      for (const child of view.child_views ?? []) {
        const found = walk(child);
        if (found !== null) return found;
      }
      return null;
    };
    for (const root of doc.roots()) {
      const found = walk(doc.views_manager?.get(root));
      if (found !== null) return found;
    }
    throw new Error(`no view of ${model.name}`);
  };
  // Resolves with the time of the first paint of `view` after `after` (performance.now()).
  B.paintAfter = (view, after, timeout) =>
    new Promise((resolve, reject) => {
      const paint = view.paint;
      const timer = setTimeout(() => {
        view.paint = paint;
        reject(new Error(`${view.model.name} did not paint within ${timeout} ms`));
      }, timeout);
      view.paint = function (...args) {
        const result = paint.apply(this, args);
        const now = performance.now();
        if (B.lastArrival != null && B.lastArrival >= after) {
          clearTimeout(timer);
          view.paint = paint;
          resolve(now);
        }
        return result;
      };
    });
  const scatterArrived = (b, n, marker, timeout) =>
    B.until(
      b.scatter,
      () => {
        const x = B.column(b.scatter, 'x');
        const ok = x != null && x.length === n && x[0] === marker;
        if (ok) B.lastArrival = performance.now();
        return ok;
      },
      timeout,
      `${n} points from the kernel`
    );
  B.update = async (root, n, timeout) => {
    const b = B.bench(root);
    const view = B.viewOf(b.doc, b.splot);
    B.lastArrival = null;
    const t0 = performance.now();
    const arrived = scatterArrived(b, n, (B.seq + 1) * 1e-9, timeout);
    const painted = B.paintAfter(view, t0, timeout);
    await B.command(root, 'update', { n }, timeout);
    const t1 = await arrived;
    return { ms: (await painted) - t0, arrived_ms: t1 - t0 };
  };
  // 1c. the in-page floor: the same data made in the page and assigned to the same source
  // (not sent to the kernel), timed the same way
  B.updateFloor = async (root, n, timeout) => {
    const b = B.bench(root);
    const view = B.viewOf(b.doc, b.splot);
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = Math.random();
      y[i] = Math.random();
    }
    const marker = -(++B.seq) * 1e-9;
    x[0] = marker;
    B.lastArrival = null;
    const t0 = performance.now();
    const painted = B.paintAfter(view, t0, timeout);
    B.lastArrival = t0;
    b.scatter.setv({ data: new Map([['x', x], ['y', y]]) }, { sync: false, check_eq: false });
    return { ms: (await painted) - t0, arrived_ms: 0 };
  };

  // 3b. the notebook's floors over a bare comm (no Bokeh), in a notebook page whose kernel
  // registered the target (bench.register_echo), on one comm kept open. The comm echo: a
  // bare comm message to the kernel and back. The transfer floors: the same bytes as the
  // systems' transfers; toward the page, from the request until the message with two
  // float64 columns of n values is in the page; from it, a float64 column of n values
  // until the kernel's answer that it has every byte is back (made 200 ms before, as the
  // websocket's upload floor does).
  B.commFloorComm = async () => {
    const kernel = window.__harness.nb().sessionContext.session.kernel;
    if (B.floorComm === undefined || B.floorComm.kernel !== kernel || B.floorComm.comm.isDisposed) {
      const comm = kernel.createComm('bench_echo');
      comm.onMsg = (msg) => {
        const w = B.floorComm.waiting;
        if (w !== null && msg.content.data.i === w.i) w.resolve(msg);
      };
      B.floorComm = { kernel, comm, waiting: null, i: 0 };
      await comm.open({}).done;
    }
    return B.floorComm;
  };
  B.commAnswer = (f, send, timeout) => {
    const i = ++f.i;
    const back = new Promise((resolve, reject) => {
      f.waiting = { i, resolve: (msg) => resolve([performance.now(), msg]) };
      setTimeout(() => reject(new Error(`no answer to comm message ${i} within ${timeout} ms`)), timeout);
    });
    const t0 = performance.now();
    send(i);
    return back.then(([t1, msg]) => [t1 - t0, msg]);
  };
  B.commEcho = async (n, timeout) => {
    const f = await B.commFloorComm();
    const times = [];
    for (let k = 0; k < n; k++) {
      const [ms] = await B.commAnswer(f, (i) => f.comm.send({ i }), timeout);
      times.push(ms);
    }
    return times;
  };
  B.commPush = async (n, timeout) => {
    const f = await B.commFloorComm();
    const [ms, msg] = await B.commAnswer(f, (i) => f.comm.send({ i, n }), timeout);
    const bytes = (msg.buffers ?? []).reduce((sum, b) => sum + b.byteLength, 0);
    if (bytes !== 16 * n) throw new Error(`the comm brought ${bytes} bytes, not ${16 * n}`);
    return ms;
  };
  B.commUpload = async (n, timeout) => {
    const f = await B.commFloorComm();
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = i;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [ms, msg] = await B.commAnswer(f, (i) => f.comm.send({ i }, undefined, [x.buffer]), timeout);
    if (msg.content.data.bytes !== 8 * n) throw new Error(`the kernel got ${msg.content.data.bytes} bytes, not ${8 * n}`);
    return ms;
  };

  // 3c. the page's own part of the round trip: the slider's and the Div's changes applied
  // by BokehJS in this page and sent nowhere (no kernel, no wire), timed as they are
  // applied, a frame apart. Beside the comm echo it bounds any Bokeh output in this page.
  B.inPageRoundTrips = async (root, n, start) => {
    const b = B.bench(root);
    const times = [];
    for (let i = 1; i <= n; i++) {
      const v = start + i;
      const t0 = performance.now();
      b.s.setv({ value: v }, { sync: false });
      b.d.setv({ text: String(v) }, { sync: false });
      times.push(performance.now() - t0);
      await new Promise(resolve => requestAnimationFrame(() => resolve()));
    }
    return times;
  };

  // 6. what crossed the wire for one Bokeh message of two float64 columns of n values
  B.pushWire = async (root, n, timeout) => {
    const b = B.bench(root);
    const arrived = bulkArrived(b, n, B.seq + 1, timeout);
    await B.command(root, 'push', { n, delay: 0.6 }, timeout);
    await sleep(300); // the command's own replies and kernel status messages have arrived
    const before = { ...B.wire };
    await arrived;
    const browser = { messages: B.wire.messages - before.messages, bytes: B.wire.bytes - before.bytes };
    await sleep(800); // the kernel counts until 0.5 s after the change
    const kernel = (await B.command(root, 'wire', {}, timeout)).reply;
    return { browser, kernel: { messages: kernel.messages, bytes: kernel.bytes } };
  };

  // 3. a column of n float64 values sent from BokehJS, until Python has it
  B.upload = async (root, n, timeout) => {
    const b = B.bench(root);
    const marker = ++B.uploads + 0.5;
    const x = new Float64Array(n);
    for (let i = 1; i < n; i++) x[i] = i;
    x[0] = marker;
    const done = B.until(
      b.out,
      () => {
        const r = B.reply(b);
        return r.first === marker && r.up === n;
      },
      timeout,
      `the kernel to receive ${n} values`
    );
    const t0 = performance.now();
    b.up.data = { x };
    return (await done) - t0;
  };

  // 3c. a selection of n rows made in the page (as a lasso over n points would), until
  // Python's on_change has it: the indices are all distinct, rotated by a number that
  // tells this selection from the one before
  B.select = async (root, n, timeout) => {
    const b = B.bench(root);
    const first = ++B.selections % n;
    const indices = new Array(n);
    for (let i = 0; i < n; i++) indices[i] = (i + first) % n;
    const done = B.until(
      b.out,
      () => {
        const r = B.reply(b);
        return r.selected === n && r.first_selected === first;
      },
      timeout,
      `the kernel to receive a selection of ${n} rows`
    );
    const t0 = performance.now();
    b.up.selected.indices = indices;
    return (await done) - t0;
  };

  // 4. the kernel streams `rows` rows every `periodMs` for `seconds`; count what arrives
  B.stream = (root, rows, periodMs, seconds, timeout) =>
    B.streamed(root, 'stream', { rows, period_ms: periodMs, seconds }, timeout);
  // 4b. the kernel streams as fast as it can for `seconds`; meanwhile a slider round trip
  // every `probeMs` (is the page still responsive?)
  B.saturate = async (root, rows, seconds, probeMs, timeout) => {
    const b = B.bench(root);
    let probing = true;
    const probes = [];
    const sentAt = new Map(); // probe value -> wall-clock ms at which the page set it
    const probe = (async () => {
      let v = 9_000_000;
      while (probing) {
        await sleep(probeMs);
        if (!probing) break;
        const t0 = performance.now();
        const value = ++v;
        sentAt.set(value, performance.timeOrigin + t0);
        try {
          await B.until(b.d, () => b.d.text === String(value), 30000, `d.text = ${value}`, () => {
            b.s.value = value;
          });
          probes.push(performance.now() - t0);
        } catch {
          probes.push(null); // no answer within 30 s
        }
      }
    })();
    try {
      const result = await B.streamed(root, 'saturate', { rows, seconds }, timeout);
      // page -> Python, for the probes Python reported (where a slow round trip waits)
      const toKernel = (result.probes_seen ?? [])
        .filter(([value]) => sentAt.has(value))
        .map(([value, at]) => at - sentAt.get(value));
      delete result.probes_seen;
      return { ...result, probes_ms: probes, probes_to_python_ms: toKernel };
    } finally {
      probing = false;
      await probe;
    }
  };
  B.QUIET_MS = 15000;
  B.streamed = async (root, op, args, timeout) => {
    const b = B.bench(root);
    const live = b.live;
    const st = { received: 0, patches: 0, first: null, last: null, frames: 0, framesAtLast: 0, lastI: -1, outOfOrder: 0 };
    const streamTo = live.stream_to;
    live.stream_to = function (prop, data, rollover, opts) {
      const now = performance.now();
      const i = data instanceof Map ? data.get('i') : data.i;
      st.received += i.length;
      st.patches += 1;
      if (st.first === null) st.first = now;
      st.last = now;
      st.framesAtLast = st.frames;
      if (i.length > 0) {
        if (i[0] !== st.lastI + 1) st.outOfOrder += 1;
        st.lastI = i[i.length - 1];
      }
      return streamTo.call(this, prop, data, rollover, opts);
    };
    let running = true;
    const frame = () => {
      if (!running) return;
      st.frames += 1;
      requestAnimationFrame(frame);
    };
    const t0 = performance.now();
    requestAnimationFrame(frame);
    // a system that stopped delivering (it dropped the rest, reply included) is not waited
    // for until the timeout: QUIET_MS without a row after the stream's planned end ends it
    const ends = t0 + (args.seconds ?? 0) * 1000;
    let watch = null;
    const quiet = new Promise((_, reject) => {
      watch = setInterval(() => {
        const now = performance.now();
        if (now > ends + B.QUIET_MS && now - (st.last ?? t0) > B.QUIET_MS) {
          reject(new Error(`no rows for ${B.QUIET_MS / 1000} s after the stream's end, and no reply to ${op}`));
        }
      }, 250);
    });
    let stats;
    try {
      const reply = B.command(root, op, args, timeout, Infinity); // answered at the end
      reply.catch(() => undefined); // when the silence won the race
      stats = (await Promise.race([reply, quiet])).reply;
    } catch (err) {
      // the final report itself may have been lost: ask again; if nothing comes back at
      // all, the rows sent are left to the caller (a notebook asks its kernel in a cell)
      try {
        stats = (await B.command(root, 'stream_stats', {}, B.QUIET_MS)).reply;
      } catch {
        stats = { sent: null, ticks: null };
      }
      stats.report_lost = String(err);
    }
    clearInterval(watch);
    await sleep(1000); // anything still in flight
    running = false;
    delete live.stream_to;
    const end = st.last ?? performance.now();
    const elapsed = (end - t0) / 1000;
    return {
      sent: stats.sent,
      ticks: stats.ticks,
      received: st.received,
      patches: st.patches,
      out_of_order: st.outOfOrder,
      seconds: elapsed,
      rows_per_s: st.received / elapsed,
      patches_per_s: st.first !== null && end > st.first ? st.patches / ((end - st.first) / 1000) : 0,
      frames_per_s: st.framesAtLast / elapsed,
      report_lost: stats.report_lost ?? null,
      ...(stats.probes_seen !== undefined ? { probes_seen: stats.probes_seen } : {}),
    };
  };

  // ---- notebooks: run a cell from inside the page -------------------------------------
  const runCell = (index) => {
    const H = window.__harness;
    const nb = H.nb().content;
    nb.deselectAll();
    nb.activeCellIndex = index;
    return H.app().commands.execute('notebook:run-cell');
  };
  B.clearCell = (index) => {
    const nb = window.__harness.nb().content;
    nb.deselectAll();
    nb.activeCellIndex = index;
    return window.__harness.app().commands.execute('notebook:clear-cell-output');
  };

  // 5. run the cell that shows `root`, until every view of it has painted
  B.cellRender = async (index, root, timeout) => {
    const stop = B.watchIdle();
    try {
      const t0 = performance.now();
      runCell(index);
      return (await B.waitIdle(root, timeout)) - t0;
    } finally {
      stop();
    }
  };

  // 7. run the cell that shows `roots`, until all have rendered
  B.cellShow = async (index, roots, timeout) => {
    await runCell(index);
    for (const root of roots) await B.waitDoc(root, timeout);
  };
  // 7. re-run one cell n times: each run clears the previous output and shows a new one
  B.cellCycles = async (index, names, timeout) => {
    const t0 = performance.now();
    for (const name of names) {
      await runCell(index);
      await B.waitDoc(name, timeout);
    }
    return (performance.now() - t0) / 1000;
  };

  // ---- standalone pages: sessions in frames of this page -------------------------------
  B.frames = [];
  B.openFrame = async (url, root, timeout) => {
    const frame = document.createElement('iframe');
    frame.style.width = '600px';
    frame.style.height = '400px';
    frame.src = url;
    document.body.appendChild(frame);
    B.frames.push(frame);
    const t0 = performance.now();
    while (frame.contentWindow === null || B.findDoc(root, frame.contentWindow) === null) {
      if (performance.now() - t0 > timeout) throw new Error(`${root} did not load in ${timeout} ms`);
      await sleep(10);
    }
    await B.waitDoc(root, timeout, frame.contentWindow);
  };
  B.closeFrames = () => {
    for (const frame of B.frames.splice(0)) frame.remove();
  };
  B.frameCycles = async (urls, names, timeout) => {
    const t0 = performance.now();
    for (let i = 0; i < urls.length; i++) {
      await B.openFrame(urls[i], names[i], timeout);
      B.closeFrames();
    }
    return (performance.now() - t0) / 1000;
  };

  window.__bench = B;
  if (/[?&]view=grid/.test(location.search)) B.watchIdle();
})();

"""The systems under test: each opens the benchmark document in its own browser context and
knows how to show more documents (a grid to render, sessions to hold, display -> clear
cycles). Notebook systems show them by running cells from inside the page; standalone
systems open their app's URL (a page, or frames of a page of the same origin)."""

from __future__ import annotations

import re
import urllib.parse
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.bokeh import kernel_json
from tests.browser.jupyter import (
    JupyterServer,
    PageLog,
    cell_outputs,
    instrument_context,
    open_notebook,
    run_all_cells,
    set_cell_source,
    wait_for_execution,
    write_notebook,
)

from .servers import APP_DIR, BokehServe

__all__ = ("NotebookSystem", "PageSystem", "System", "notebook_systems", "page_systems")

PAGE_JS = (APP_DIR.parent / "page.js").read_text()
BENCH = "bench"
LOOPBACK = re.compile(r"^(?:https?|wss?)://(?:127\.0\.0\.1|localhost)(?::\d+)?(?:/|$)")


def call(page: Page, function: str, *args: Any) -> Any:
    """``window.__bench.<function>(...args)`` in the page, awaited."""
    return page.evaluate(f"args => window.__bench.{function}(...args)", list(args))


@dataclass
class System(ABC):
    key: str
    label: str
    #: seconds after which sessions whose views are gone have ended on their own (bokeh_nb:
    #: its 10 s linger; a Bokeh server: unused sessions go after 15 s, checked every 17 s)
    settle: float
    log: PageLog = field(default_factory=PageLog)
    context: BrowserContext | None = None
    page: Page | None = None

    def new_context(self, browser: Browser) -> BrowserContext:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        instrument_context(context, self.log)
        context.add_init_script(script=PAGE_JS)
        self.context = context
        return context

    @property
    def bench_page(self) -> Page:
        assert self.page is not None, f"{self.key} is not open"
        return self.page

    def call(self, function: str, *args: Any) -> Any:
        return call(self.bench_page, function, *args)

    def foreign_requests(self) -> list[str]:
        """Requests and websockets of this system's pages that left 127.0.0.1."""
        urls = self.log.requests + self.log.websockets + self.log.blocked_requests
        return sorted(
            {u for u in urls if not LOOPBACK.match(u) and not u.startswith(("data:", "blob:"))}
        )

    def rows_streamed(self) -> int | None:
        """Rows the kernel streamed, asked outside the benchmark document (None: no way)."""
        return None

    @abstractmethod
    def open(self, browser: Browser) -> None:
        """Show the benchmark document in a page of a new context."""

    @abstractmethod
    def render(self, plots: int, name: str, timeout_ms: int) -> float:
        """Show a grid of ``plots`` plots; milliseconds until every view has painted."""

    @abstractmethod
    def show_sessions(self, names: list[str], timeout_ms: int) -> None:
        """Show one small document per name, and keep them shown."""

    @abstractmethod
    def hide_sessions(self) -> None:
        """Take the documents of ``show_sessions`` away."""

    @abstractmethod
    def cycles(self, names: list[str], timeout_ms: int) -> float:
        """Show and take away one small document per name, in turn; seconds taken."""

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@dataclass
class NotebookSystem(System):
    """A notebook whose setup cells define ``DISPLAY(make)`` and show the benchmark
    document; three more cells show the grid, the held sessions and the cycles."""

    server: JupyterServer | None = None
    setup: list[str] = field(default_factory=list)
    shows_bench: bool = True

    def _cells(self) -> list[str]:
        return [*self.setup, "pass", "pass", "pass"]

    @property
    def _grid_cell(self) -> int:
        return len(self.setup)

    def open(self, browser: Browser) -> None:
        assert self.server is not None
        name = f"bench-{self.key}-{uuid.uuid4().hex[:6]}.ipynb"
        write_notebook(self.server.root_dir, name, self._cells())
        page = self.new_context(browser).new_page()
        open_notebook(page, self.server, name)
        if not run_all_cells(page, timeout=300):
            errors = [
                f"{o.get('ename')}: {o.get('evalue')}"
                for i in range(len(self._cells()))
                for o in cell_outputs(page, i)
                if o.get("output_type") == "error"
            ]
            raise RuntimeError(f"{self.key}: a setup cell failed: {errors}")
        self.page = page
        if self.shows_bench:
            call(page, "waitDoc", BENCH, 120_000)

    def rows_streamed(self) -> int | None:
        """Asked in a cell: execute requests still reach a kernel whose comm went quiet."""
        sent = kernel_json(self.bench_page, "bench.INSTANCES[-1]._stream.get('sent')")
        return None if sent is None else int(sent)

    def _run_source(self, index: int, source: str) -> None:
        set_cell_source(self.bench_page, index, source)

    def _clear(self, index: int) -> None:
        self.call("clearCell", index)
        wait_for_execution(self.bench_page)

    def render(self, plots: int, name: str, timeout_ms: int) -> float:
        cell = self._grid_cell
        self._run_source(cell, f"DISPLAY(lambda: bench.grid_layout({plots}, {name!r}))")
        try:
            ms: float = self.call("cellRender", cell, name, timeout_ms)
        finally:
            wait_for_execution(self.bench_page)
            self._clear(cell)
        return ms

    def show_sessions(self, names: list[str], timeout_ms: int) -> None:
        cell = self._grid_cell + 1
        self._run_source(
            cell, f"for _n in {names!r}:\n    DISPLAY(lambda _n=_n: bench.cycle_layout(_n))"
        )
        self.call("cellShow", cell, names, timeout_ms)
        wait_for_execution(self.bench_page)

    def hide_sessions(self) -> None:
        self._clear(self._grid_cell + 1)

    def cycles(self, names: list[str], timeout_ms: int) -> float:
        cell = self._grid_cell + 2
        self._run_source(cell, "DISPLAY(lambda: bench.cycle_layout(f'cycle-{next(_cycles)}'))")
        seconds: float = self.call("cellCycles", cell, names, timeout_ms)
        wait_for_execution(self.bench_page)
        self._clear(cell)
        return seconds


@dataclass
class PageSystem(System):
    """A Bokeh app at a URL: the benchmark page is ``?view=bench``; grids open in pages of
    their own, sessions and cycles in frames of a page of the same origin."""

    url: str = ""
    #: a notebook whose cells make the app (bokeh_nb's live app), opened first
    host: NotebookSystem | None = None

    def app_url(self, **query: str) -> str:
        return f"{self.url}?{urllib.parse.urlencode(query)}"

    def open(self, browser: Browser) -> None:
        if self.host is None:
            context = self.new_context(browser)
        else:  # the notebook's context: its Jupyter login opens the app's URL too
            self.host.open(browser)
            self.url = kernel_json(self.host.bench_page, "app.url")
            assert self.host.context is not None
            context, self.context, self.log = self.host.context, self.host.context, self.host.log
        page = context.new_page()
        page.goto(self.app_url(view=BENCH))
        self.page = page
        call(page, "waitDoc", BENCH, 120_000)

    def render(self, plots: int, name: str, timeout_ms: int) -> float:
        assert self.context is not None
        page = self.context.new_page()
        try:
            page.goto(self.app_url(view="grid", plots=str(plots), name=name))
            ms: float = call(page, "waitIdle", name, timeout_ms)
            return ms
        finally:
            page.close()

    @property
    def frame_host(self) -> Page:
        """The page whose frames hold sessions: bokeh_nb's app page allows no frames (its
        CSP), so the notebook page of the same server holds them."""
        return self.host.bench_page if self.host is not None else self.bench_page

    def show_sessions(self, names: list[str], timeout_ms: int) -> None:
        for name in names:
            url = self.app_url(view="cycle", name=name)
            call(self.frame_host, "openFrame", url, name, timeout_ms)

    def hide_sessions(self) -> None:
        call(self.frame_host, "closeFrames")

    def cycles(self, names: list[str], timeout_ms: int) -> float:
        urls = [self.app_url(view="cycle", name=n) for n in names]
        seconds: float = call(self.frame_host, "frameCycles", urls, names, timeout_ms)
        return seconds

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
            self.context = None
        super().close()


# ---- the systems ------------------------------------------------------------------------

PRELUDE = f"""\
import sys, itertools
sys.path.insert(0, {str(APP_DIR)!r})
import bench
_cycles = itertools.count(1)
"""
INLINE_BOKEH = """\
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE
output_notebook(resources=INLINE, hide_banner=True)
"""


def notebook_systems(
    bokeh_nb_lab: JupyterServer, anchors_lab: JupyterServer
) -> list[NotebookSystem]:
    return [
        NotebookSystem(
            "bokeh_nb",
            "bokeh_nb (JupyterLab)",
            settle=12.0,
            server=bokeh_nb_lab,
            setup=[
                PRELUDE + "import bokeh_nb\nbench.COUNTER.count_comm_messages()\n"
                "bench.register_echo()\n"
                "def DISPLAY(make):\n    bokeh_nb.show(make())",
                "DISPLAY(bench.doc_bench)",
            ],
        ),
        NotebookSystem(
            "jupyter_bokeh",
            "jupyter_bokeh BokehModel",
            settle=3.0,
            server=anchors_lab,
            setup=[
                PRELUDE + INLINE_BOKEH,
                "from IPython.display import display\nfrom jupyter_bokeh import BokehModel\n"
                "bench.COUNTER.count_comm_messages()\n"
                "def DISPLAY(make):\n    display(BokehModel(make()))",
                "DISPLAY(lambda: bench.loop_bench(lambda: None))",
            ],
        ),
        NotebookSystem(
            "panel",
            "Panel pn.pane.Bokeh",
            settle=3.0,
            server=anchors_lab,
            setup=[
                PRELUDE + "import panel as pn\npn.extension(inline=True)",
                "from IPython.display import display\nbench.COUNTER.count_comm_messages()\n"
                "def DISPLAY(make):\n    display(pn.pane.Bokeh(make()))\n_pane = None",
                "_pane = pn.pane.Bokeh(bench.loop_bench(lambda: pn.io.push_notebook(_pane)))\n"
                "display(_pane)",
            ],
        ),
        NotebookSystem(
            "show_app",
            "bokeh show(app) in the kernel",
            settle=35.0,
            server=anchors_lab,
            setup=[
                PRELUDE + INLINE_BOKEH + "bench.COUNTER.count_websocket_frames()\n"
                f"NB_URL = {anchors_lab.origin!r}\n"
                "def DISPLAY(make):\n"
                "    show(lambda doc: doc.add_root(make()), notebook_url=NB_URL)",
                "DISPLAY(bench.doc_bench)",
            ],
        ),
    ]


def page_systems(
    bokeh_nb_lab: JupyterServer, serve: BokehServe, serve_nodelay: BokehServe
) -> list[PageSystem]:
    host = NotebookSystem(
        "bokeh_nb_standalone_host",
        "the notebook that makes the live app",
        settle=0.0,
        server=bokeh_nb_lab,
        shows_bench=False,
        setup=[
            PRELUDE + "import bokeh_nb\nbench.COUNTER.count_comm_messages()\n"
            "app = bokeh_nb.App(bench.modify_doc, name='bench')"
        ],
    )
    return [
        PageSystem("bokeh_nb_standalone", "bokeh_nb standalone (live app URL)", 3.0, host=host),
        PageSystem("bokeh_serve", "bokeh serve", 35.0, url=serve.url),
        PageSystem("bokeh_serve_nodelay", "bokeh serve, TCP_NODELAY", 35.0, url=serve_nodelay.url),
    ]

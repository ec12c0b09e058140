"""The benchmark document's answers: a timed transfer's answer follows its data (the page
handles the data first, as it would a cell's), and the answers' Div is in the document
but not drawn (a drawn Div's change lays the page out, which every answer would pay)."""

from __future__ import annotations

import json
from typing import Any

from bokeh.document import Document
from bokeh.models import Column

from benchmarks.app import bench


class Steps:
    """A scheduler that runs what is given ``later`` when told, and records the changes the
    page would get, in order."""

    def __init__(self) -> None:
        self.waiting: list[bench.Task] = []
        self.delays: list[float] = []

    def later(self, task: bench.Task, seconds: float) -> None:
        self.waiting.append(task)
        self.delays.append(seconds)

    def run(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


def _bench() -> tuple[bench.Bench, Steps, list[str]]:
    steps = Steps()
    sched = bench.Scheduler(steps.later, lambda _task, _ms: lambda: None, lambda: None)
    made = bench.Bench(sched, bench.WireCounter())
    seen: list[str] = []
    made.bulk.on_change("data", lambda _a, _o, _n: seen.append("bulk"))
    made.scatter.on_change("data", lambda _a, _o, _n: seen.append("scatter"))
    made.out.on_change("text", lambda _a, _o, new: seen.append(f"out {json.loads(new)['seq']}"))
    return made, steps, seen


def _command(made: bench.Bench, seq: int, op: str, **args: Any) -> None:
    made.cmd.value = json.dumps({"seq": seq, "op": op, "args": args})


def test_a_timed_push_is_answered_after_its_data() -> None:
    made, steps, seen = _bench()
    _command(made, 1, "push", n=10)
    assert seen == []  # nothing before the data's own callback
    steps.run()
    assert seen == ["bulk", "out 1"]
    assert made.bulk.data["x"][0] == 1


def test_an_update_is_answered_after_its_data() -> None:
    made, steps, seen = _bench()
    _command(made, 2, "update", n=10)
    steps.run()
    assert seen == ["scatter", "out 2"]
    assert made.scatter.data["x"][0] == 2e-9


def test_a_counted_push_is_answered_before_the_count_starts() -> None:
    made, steps, seen = _bench()
    _command(made, 3, "push", n=10, delay=0.6)
    assert seen == ["out 3"]  # the answer goes first, the data 0.6 s later
    assert steps.delays == [0.6]
    made.counter.add(99)  # what was sent before the data is not counted
    steps.run()
    assert seen == ["out 3", "bulk"]
    assert made.counter.since_mark() == {"messages": 0, "bytes": 0}


def test_the_answers_div_is_in_the_document_but_not_drawn() -> None:
    made, _steps, _seen = _bench()
    layout = made.layout()
    doc = Document()
    doc.add_root(layout)
    assert isinstance(layout, Column)
    assert made.out not in layout.children
    assert doc.get_model_by_name("out") is made.out
    assert doc.get_model_by_name("bulk") is made.bulk
    assert doc.get_model_by_name("up") is made.up

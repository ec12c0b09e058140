"""An app file as the server sends it to a kernel on a gateway (``server/files.app_files``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tornado.web import HTTPError

from bokeh_nb.server import files


def test_a_script_is_sent_alone(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print(1)")
    (tmp_path / "other.py").write_text("print(2)")
    sent = files.app_files(tmp_path / "app.py")
    assert sent.entry == "app.py"
    assert sent.files == [("app.py", b"print(1)")]


def test_a_directory_is_sent_without_hidden_files_caches_or_links_out(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "data").mkdir(parents=True)
    (app / "__pycache__").mkdir()
    (app / ".git").mkdir()
    (app / "main.py").write_text("main")
    (app / "data" / "rows.csv").write_text("1,2")
    (app / "__pycache__" / "main.pyc").write_bytes(b"\0")
    (app / ".git" / "config").write_text("secret")
    (app / ".env").write_text("secret")
    (tmp_path / "outside.txt").write_text("secret")
    (app / "data" / "link.txt").symlink_to(tmp_path / "outside.txt")
    (app / "data" / "inside.txt").symlink_to(app / "main.py")
    sent = files.app_files(app)
    assert sent.entry == "app"
    assert dict(sent.files) == {
        "app/data/inside.txt": b"main",
        "app/data/rows.csv": b"1,2",
        "app/main.py": b"main",
    }


def test_an_app_too_large_to_send_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(files, "APP_FILES_MAX_BYTES", 1000)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("x" * 600)
    (tmp_path / "app" / "blob").write_bytes(b"\0" * 600)
    with pytest.raises(HTTPError) as refused:
        files.app_files(tmp_path / "app")
    assert refused.value.status_code == 413
    text = refused.value.log_message % refused.value.args
    assert text == (
        "app is 0.0 MiB: at most 0.000953674 MiB of an app can be sent to a kernel on the gateway"
    )

"""Browser tests (real Jupyter server + headless Chromium); fixtures in plugin.py."""

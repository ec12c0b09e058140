"""Browser tests (real Jupyter server + headless Chromium); see conftest.py."""

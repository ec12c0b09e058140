"""Deployment tests: nginx, load balancing, JupyterHub, kernel gateway, Dask (docs/deploying.md)."""

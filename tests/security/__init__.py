"""Security tests: routes, credentials, origins, share pages (see docs/security.md)."""

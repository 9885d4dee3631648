"""HTTP API (FastAPI) for the home app, kiosks and staff: a transport over the domains."""

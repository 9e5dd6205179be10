"""The FastAPI application, shared dependencies, templates and static assets."""

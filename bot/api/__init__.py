"""The HTTP API: read routes for projects, users and pull requests, and shared plumbing."""

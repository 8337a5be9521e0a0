"""avatar: a self-hosted AI host for live commerce."""

__version__ = "0.1.0"

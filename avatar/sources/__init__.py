"""Comment sources: chat from the platforms a show streams to (Twitch, YouTube, an ingest API).

Each source is a small module behind :class:`~avatar.sources.base.CommentSource`; the
:class:`~avatar.sources.hub.SourceHub` runs them with the show, retries a failing one with backoff,
and hands every comment to the same triage as chat typed on the viewer page.
"""

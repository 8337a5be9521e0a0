"""Listening to people: the scene-biased prompt, VAD segmentation and per-stream listeners that turn
a microphone into transcripts for the show."""

"""Running the show 24/7: supervision, metrics, persistence and the operator's controls."""

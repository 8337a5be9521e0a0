"""Rehearse: a coaching mode where human hosts practise a product segment and get told what to fix."""

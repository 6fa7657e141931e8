"""Evaluating answers: task files, scorers, and the sandboxes untrusted output runs in."""

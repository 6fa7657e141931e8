"""The verdict: per-model figures, the paired comparison, CEGI, and its words (pure)."""

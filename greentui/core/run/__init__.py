"""Running one session: the engine, the item order, the running tally, stop and pause."""

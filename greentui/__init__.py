"""greentui: two language models head to head -- live power, joules per token, accuracy, carbon, CEGI."""

__version__ = "0.1.0"

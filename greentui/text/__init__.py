"""Every rich, markdown and HTML rendering of greentui's figures (the CLI's output and the exports)."""

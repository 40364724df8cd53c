"""Jobs: weekly setup, nightly sync, notifications. Each is plan, then apply."""

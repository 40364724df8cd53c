"""Weekly setup: next week's courses, folders, enrolments, sharing and coursework, planned then applied
(`setup.run_weekly_setup` is the one entry point)."""

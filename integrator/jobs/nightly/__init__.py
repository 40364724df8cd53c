"""The nightly sync: harvest returns and attendance (Google half, Teams half), store the evidence,
re-evaluate recent attendance days and queue alerts (`run.run_nightly_sync`)."""

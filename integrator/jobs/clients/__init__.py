"""A client's life in the service after the import: a move to another group from a date and an early
end of their period (keskeytys), previewed, applied, audited and reversible (`changes`), followed
in the tenants with the weekly setup's own plan and apply (`access`)."""

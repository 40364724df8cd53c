"""The demo: a whole organisation on the sandbox tenant (world), the week's story in seconds (run),
and the rehearsal behind `integrator serve --sandbox` (rehearsal)."""

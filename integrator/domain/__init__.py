"""Pure rules of the domain: no I/O, no imports of store, providers or web."""

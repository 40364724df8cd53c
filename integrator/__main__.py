"""`python -m integrator` runs the same command as the `integrator` console script."""

from integrator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

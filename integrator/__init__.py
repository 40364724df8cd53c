"""integrator: remote rehabilitative work activity on Google Workspace and Microsoft 365.

Importing the package loads nothing else: the web app is `integrator.web.create_app`, the
command is `integrator.cli.main`.
"""

__version__ = "0.1.0"

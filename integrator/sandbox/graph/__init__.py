"""Microsoft half of the sandbox tenant (placeholder docstring; recipe follows)."""

from integrator.sandbox.graph.app import GraphApp, make_graph_app
from integrator.sandbox.graph.tenant import GraphTenant

__all__ = ["GraphApp", "GraphTenant", "make_graph_app"]

"""Graph-to-graph passes.  Each is a small module; each keeps ``Graph.lint()`` happy."""

"""Frontends: ways of producing IR (the tracer now, the scripter next)."""

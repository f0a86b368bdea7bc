"""Running IR: the interpreter (and, later, the optimising executor)."""

"""The ``zkproofs`` command line (click)."""

"""Benchmarks, one module per ``homeloop bench <name>`` command; figures in docs/BENCHMARKS.md.

:mod:`devtools.bench.db` is the throw-away database the ones that need data build.
"""

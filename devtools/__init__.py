"""Development and measurement tools: not deployed code.

The demo (``homeloop demo``: demo data and the whole system on one machine), the fleet
simulator (``homeloop simulate``), the Firebase Auth emulator stand-in (``homeloop auth
emulator``, also used by the tests), the benchmarks (``homeloop bench <name>``) and the plans
made in code that the demo and the benchmarks furnish.

They depend on the product packages, never the other way round: no production package
imports ``devtools`` (``tests/test_devtools_apart.py``), but for the one guarded hook in
:mod:`homeloop.cli` that adds these commands where ``devtools`` is installed. The production
image leaves it out, and its ``homeloop`` command has no dev commands.
"""

"""Pure computation of the SPEC's rules: no Django, no I/O, unit-tested without a database."""

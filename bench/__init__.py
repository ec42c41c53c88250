"""Benchmarks of the point ledger on PostgreSQL (``make bench``).

Run as ``DATABASE_URL=postgres://.../loyalty_bench python -m bench``. The database is
migrated and emptied by the run; every figure is printed as a table with its target and
written to ``bench/results/latest.json``. Benchmarks report, they never fail the build.
"""

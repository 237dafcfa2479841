"""What the database offers beyond the plain ORM, each with its portable fallback.

Every difference between PostgreSQL and the embedded SQLite default lives here, at the level
of an expression (`expressions`), a lock (`locks`) or a bulk transfer of rows (`bulk`), so
services call one function and never ask which database they are on.
"""

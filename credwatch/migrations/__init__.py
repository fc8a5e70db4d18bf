"""Alembic migrations of credwatch's database (SQLite and PostgreSQL).

`credwatch.migrate.upgrade` applies them at start; `credwatch db upgrade` and
`credwatch db revision` run them by hand. Every migration must work on both
backends: SQLite changes tables through Alembic's batch mode (`render_as_batch`).
"""

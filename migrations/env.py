"""Alembic environment for Flask-Migrate."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db

# Full-text search objects are built by hand per database in the migrations; the models do not
# describe them, so autogenerate must not propose dropping them.
SEARCH_OBJECTS = {"ix_tickets_search", "tickets_fts"}
# Expression indexes: PostgreSQL gives back their expression in its own normal form (casts,
# ELSE NULL), which never equals the model's text, so comparing them would report a change
# forever; SQLite cannot reflect them at all. Migration 0010 builds this one.
EXPRESSION_INDEXES = {"ix_tickets_status_rank_id"}


# SQLite cannot add a table constraint to an existing table, so migration 0006 added
# tickets.sla_policy_id with an inline `CONSTRAINT ... REFERENCES ... ON DELETE RESTRICT`
# (rebuilding tickets would cost a copy of every row). SQLite enforces it, but SQLAlchemy
# reflects only table-level foreign keys with their name and options, so autogenerate would
# report it as changed forever. On SQLite only, that one key is left out of the comparison
# (tests/test_sla_api.py checks it through PRAGMA foreign_key_list instead).
SQLITE_INLINE_FOREIGN_KEYS = {("tickets", ("sla_policy_id",))}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "foreign_key_constraint" and target_db.engine.dialect.name == "sqlite":
        key = (obj.parent.name, tuple(column.name for column in obj.columns))
        if key in SQLITE_INLINE_FOREIGN_KEYS:
            return False
    if name in EXPRESSION_INDEXES:
        return False
    return not (name in SEARCH_OBJECTS or (name or "").startswith("tickets_fts"))


def render_item(type_, obj, autogen_context):
    """Render the project's UTCDateTime as the plain column type it stores."""
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            if directives[0].upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Rebuilding a table drops the old one, which with foreign keys on would delete (or
            # refuse to drop) its children's rows. The switch works only outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_db.metadata,
            include_object=include_object,
            render_item=render_item,
            **conf_args,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("The migration left rows whose foreign keys point nowhere.")
        if sqlite:
            # The connection goes back to the pool: where migrations run inside the app (the
            # test suite), the next user of it must get foreign keys enforced again.
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


run_migrations_online()

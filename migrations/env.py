"""Alembic environment: the models' metadata, and the URL from the config or DATABASE_URL."""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from core.db import make_engine
from core.models import Base
from core.models.base import UTCDateTime
from core.privacy.columns import SEALED_LENGTH, EncryptedJSON, EncryptedString
from core.settings import Settings

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our column types as plain SQLAlchemy, so revisions do not import the models."""
    if type_ == "type" and isinstance(obj, EncryptedString):
        return f"sa.String({SEALED_LENGTH})"
    if type_ == "type" and isinstance(obj, EncryptedJSON):
        return "sa.Text()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.Enum):
        # No name: the naming convention names each CHECK after its column (one table may hold two).
        values = ", ".join(map(repr, obj.enums))
        return f"sa.Enum({values}, native_enum=False, create_constraint=True, length={obj.length})"
    return False


# Batch mode lets ALTERs work on SQLite, which cannot alter most things in place.
OPTIONS = {"target_metadata": Base.metadata, "render_as_batch": True, "render_item": render_item}


def run_migrations_offline() -> None:
    context.configure(url=url, literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode rebuilds a SQLite table by copy, drop and rename; with foreign keys enforced,
            # dropping a table that other rows refer to fails. The copy keeps every id, so nothing
            # dangles after. The pragma works only outside a transaction: set it before the first.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(connection=connection, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

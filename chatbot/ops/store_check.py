"""Check an endpoints file's tracker and lock stores before Rasa starts (runs in .venv-rasa).

Rasa waits forever, retrying every 5 s, when its SQL tracker store cannot be reached, and
during a conversation it falls back to an in-memory store when the database fails. Neither
is acceptable for a clinic, so the launcher runs

    .venv-rasa/bin/python -m chatbot.ops.store_check endpoints.prod.yml

first. It reads the file the way Rasa does (``${VAR}`` from the environment), connects to
each store with its credentials, creates Rasa's tracker tables if they are missing (so
several Rasa instances starting together never race to create them), checks it can write,
and exits 1 with one clear line on stderr when a store cannot be used. No password is
ever printed.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

from chatbot.errors import ChatbotError


class StoreError(ChatbotError):
    pass


def _where(kwargs: dict[str, Any], host: str | None) -> str:
    if kwargs.get("dialect", "sqlite") == "sqlite":
        return f"SQLite file {kwargs.get('db', 'rasa.db')}"
    user = kwargs.get("username") or "?"
    return f"{kwargs.get('dialect')} database {kwargs.get('db')!r} on {host}:{kwargs.get('port')} as {user!r}"


def check_tracker_store(config: Any) -> str:
    if config is None or config.type is None:
        return "tracker store: in memory (conversations are lost on restart)"
    if str(config.type).lower() not in ("sql", "chatbot.rasa_server.tracker_store.durablesqltrackerstore"):
        return f"tracker store: {config.type} (not checked)"
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore

    kwargs = dict(config.kwargs)
    dialect = kwargs.get("dialect", "sqlite")
    where = _where(kwargs, config.url)
    if dialect == "sqlite":
        folder = Path(kwargs.get("db", "rasa.db")).parent
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"tracker store: cannot create the {where}: {folder} is not a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise StoreError(f"tracker store: cannot create the folder for the {where}: {error}") from None
    try:
        port = int(kwargs["port"]) if kwargs.get("port") not in (None, "") else None
    except ValueError:
        raise StoreError(f"tracker store: port {kwargs.get('port')!r} is not a number") from None
    url = SQLTrackerStore.get_db_url(
        dialect, config.url, port, kwargs.get("db", "rasa.db"), kwargs.get("username"),
        kwargs.get("password"), kwargs.get("login_db"), kwargs.get("query"),
    )
    connect_args = {"connect_timeout": 5} if dialect == "postgresql" else {}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        if not kwargs.get("login_db"):  # with login_db, Rasa creates the database itself
            SQLTrackerStore.Base.metadata.create_all(engine)
            with engine.connect() as connection:
                transaction = connection.begin()
                connection.execute(sa.text(
                    "INSERT INTO events (sender_id, type_name) VALUES ('store-check', 'check')"
                ))
                transaction.rollback()
        else:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        if dialect == "sqlite":  # conversations are health data: owner only
            os.chmod(Path(kwargs.get("db", "rasa.db")), 0o600)
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise StoreError(
            f"tracker store: cannot use the {where}: {reason[0] if reason else type(error).__name__}"
        ) from None
    finally:
        engine.dispose()
    return f"tracker store: {where} OK"


def check_lock_store(config: Any) -> str:
    if config is None or config.type in (None, "in_memory"):
        return "lock store: in memory (one Rasa instance only)"
    if str(config.type).lower() != "redis":
        return f"lock store: {config.type} (not checked)"
    import redis

    kwargs = dict(config.kwargs)
    host, port = config.url or "localhost", kwargs.get("port", 6379)
    where = f"Redis on {host}:{port} db {kwargs.get('db', 1)}"
    try:
        client = redis.StrictRedis(
            host=host, port=int(port), db=int(kwargs.get("db", 1)),
            username=kwargs.get("username"), password=kwargs.get("password"),
            ssl=bool(kwargs.get("use_ssl", False)), socket_timeout=5, socket_connect_timeout=5,
        )
        client.ping()
        client.close()
    except (ValueError, redis.exceptions.RedisError) as error:
        raise StoreError(f"lock store: cannot use {where}: {error}") from None
    return f"lock store: {where} OK"


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")  # Rasa's and SQLAlchemy's deprecation notes
    if len(argv) != 1:
        print("usage: python -m chatbot.ops.store_check ENDPOINTS_FILE", file=sys.stderr)
        return 2
    path = argv[0]
    if not Path(path).is_file():
        print(f"endpoints file {path} does not exist", file=sys.stderr)
        return 1
    from rasa.utils.endpoints import read_endpoint_config

    try:
        tracker = read_endpoint_config(path, "tracker_store")
        lock = read_endpoint_config(path, "lock_store")
    except Exception as error:  # e.g. a ${VAR} that is not set
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    try:
        print(check_tracker_store(tracker))
        print(check_lock_store(lock))
    except StoreError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

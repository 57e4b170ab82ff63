"""The benchmarks' scratch PostgreSQL databases: create, drop, and their URL.

`args` carries pg_host, pg_port, pg_user and db_name (each script's command-line options).
"""

import sys

import psycopg2


def pg_admin(args):
    connection = psycopg2.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname="postgres"
    )
    connection.autocommit = True
    return connection


def create_database(args) -> None:
    connection = pg_admin(args)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{args.db_name}"')
    finally:
        connection.close()


def drop_database(args) -> None:
    try:
        connection = pg_admin(args)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        connection.close()
    except psycopg2.Error as exc:
        print(f"warning: could not drop {args.db_name}: {exc}", file=sys.stderr)


def database_url(args) -> str:
    return f"postgresql://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.db_name}"


def vacuum_analyze(args) -> None:
    """Statistics, and the visibility map that index-only scans need: a settled database.
    The checkpoint writes out what seeding and VACUUM dirtied (a million tickets are over a
    GB), which PostgreSQL would otherwise flush during the measurements that follow."""
    connection = psycopg2.connect(database_url(args))
    connection.autocommit = True  # VACUUM cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
            cursor.execute("CHECKPOINT")
    finally:
        connection.close()

"""`flask seed`: the schema through the migrations, then the sample data; `flask worker`;
`flask create-admin`: the first admin of a production database."""

import sys

import click
from flask import Flask, current_app
from flask_migrate import upgrade

from app.services import seed


def init_database() -> None:
    upgrade()
    seed.load_sample_data()


def register_cli(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--tickets", type=int, default=0, help="Also generate this many random tickets.")
    @click.option("--seed", "random_seed", type=int, default=1, help="Random seed for --tickets.")
    def seed_command(tickets: int, random_seed: int) -> None:
        """Create the schema and load the sample data (loading twice duplicates nothing)."""
        init_database()
        click.echo("Sample data loaded.")
        if tickets:
            from app.services import bulk

            count = bulk.generate(tickets, random_seed)
            click.echo(f"Generated {count} tickets.")

    @app.cli.command("worker")
    @click.option(
        "--threads",
        type=int,
        default=None,
        help="Task threads (default: WORKER_THREADS, 4).",
    )
    def worker_command(threads: int | None) -> None:
        """Run a background worker: the task queue's consumer, with its periodic tasks."""
        from app.tasks import worker

        app = current_app._get_current_object()
        worker.run(app, threads or app.config["WORKER_THREADS"])

    @app.cli.command("create-admin")
    @click.option("--email", required=True, help="The admin's e-mail (their login).")
    @click.option("--name", required=True, help="The admin's name.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option(
        "--promote",
        is_flag=True,
        help="If a user has this e-mail, make them an active admin with this password.",
    )
    def create_admin_command(email: str, name: str, password_stdin: bool, promote: bool) -> None:
        """Create an admin (without loading the sample data and its public passwords)."""
        from marshmallow import ValidationError

        from app.errors import ServiceError
        from app.extensions import db
        from app.schemas.user import UserCreateSchema
        from app.services import users

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            data = UserCreateSchema().load(
                {"email": email, "name": name, "password": password, "role": "admin"}
            )
            user = users.create_admin(data, promote=promote)
        except ValidationError as error:
            problems = "; ".join(
                f"{field}: {' '.join(map(str, messages))}"
                for field, messages in error.messages.items()
            )
            raise click.ClickException(problems) from error
        except ServiceError as error:
            raise click.ClickException(error.detail) from error
        db.session.commit()
        click.echo(f"Admin {user.email} (id {user.id}) is ready.")

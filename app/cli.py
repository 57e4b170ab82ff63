"""`flask seed`: the schema through the migrations, then the sample data; `flask worker`."""

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

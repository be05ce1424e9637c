"""The ``inspekt`` command line (contract: docs in the README).

Every command exits 0 on success, 2 on bad usage and 1 on any other failure,
printing the failure as one line (file and field where there is one); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

from .errors import InspektError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["app", "main"]

app = typer.Typer(
    name="inspekt",
    help="Self-hosted visual inspection server, compatible with PEKAT VISION's Image Analyze API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])
#: api.settings.LogFormat, spelled out so the command line starts without the
#: web stack; where serve passes it on, mypy checks the server takes every value.
_LogFormat = Literal["text", "json"]


def _fail(message: str) -> None:
    one_line = " ".join(message.split())  # third-party messages may span lines
    typer.echo(f"inspekt: error: {one_line}", err=True)
    raise typer.Exit(1)


def reports_errors(func: F) -> F:
    """Turn inspekt errors into one line and exit 1 (a traceback with --debug)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InspektError as exc:
            if _state["debug"]:
                raise
            _fail(exc.message)
        except (OSError, ValueError) as exc:
            if _state["debug"]:
                raise
            _fail(f"{type(exc).__name__}: {exc}")

    return wrapper  # type: ignore[return-value]


def _print_version(value: bool) -> None:
    if value:
        import inspekt

        typer.echo(f"inspekt {inspekt.__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)


@app.command()
@reports_errors
def serve(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(help="Require this api_key on analyze requests.", envvar="INSPEKT_API_KEY"),
    ] = None,
    secure: Annotated[
        bool, typer.Option("--secure", help="Require the project's stored api key (made once).")
    ] = False,
    stop_key: Annotated[str | None, typer.Option(help="Key that /stop?key= accepts.")] = None,
    viewer_password: Annotated[
        str | None,
        typer.Option(help="With an api key on, also opens the dashboard, history and metrics "
                     "(not analyses or reviews).", envvar="INSPEKT_VIEWER_PASSWORD"),
    ] = None,
    disable_code: Annotated[
        bool, typer.Option("--disable-code", help="Never run Code modules' Python files.")
    ] = False,
    api_key_file: Annotated[
        Path | None, typer.Option(help="Read the api key from this file (keeps it out of ps).")
    ] = None,
    max_body_mb: Annotated[int, typer.Option(help="Largest request body accepted.")] = 256,
    max_queue: Annotated[
        int, typer.Option(help="Analyses running or waiting at once; more get 503.")
    ] = 16,
    body_timeout: Annotated[float, typer.Option(help="Seconds to receive a request body.")] = 30.0,
    header_timeout: Annotated[
        float, typer.Option(help="Seconds to receive request headers.")
    ] = 10.0,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this certificate.")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="Private key for --ssl-certfile.")
    ] = None,
    log_format: Annotated[
        _LogFormat, typer.Option(help="Request log on stderr: text, or json (one object a line).")
    ] = "text",
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Log no requests but refused api keys (401).")
    ] = False,
    history: Annotated[
        bool,
        typer.Option(
            "--history/--no-history",
            help="Record every inspection in the project (.inspekt/history/).",
        ),
    ] = True,
    history_ok_images: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of OK inspections whose images are kept "
                     "(NOK and error ones always are)."),
    ] = 0.0,
    history_days: Annotated[
        float, typer.Option(min=0.0, help="Days an inspection is kept (0: no limit).")
    ] = 30.0,
    history_max_count: Annotated[
        int, typer.Option(min=0, help="Inspections kept at most, the newest (0: no limit).")
    ] = 100_000,
    history_max_mb: Annotated[
        float, typer.Option(min=0.0, help="MB the kept images may take (0: no limit).")
    ] = 2048.0,
    workers: Annotated[
        int,
        typer.Option(min=1, help="Processes sharing the port, each with the project loaded "
                     "(a multi-core line PC)."),
    ] = 1,
    ray: Annotated[
        bool,
        typer.Option("--ray", help="Run the flow on Ray Serve replicas (the cluster extra); "
                     "this process stays the front door."),
    ] = False,
    replicas: Annotated[
        int, typer.Option(min=1, help="With --ray: replicas, each with the project loaded.")
    ] = 2,
    address: Annotated[
        str | None,
        typer.Option(help="With --ray: a running Ray cluster (host:port or auto); "
                     "without it Ray starts on this machine."),
    ] = None,
) -> None:
    """Serve the Image Analyze API for PROJECT."""
    if ray and workers > 1:
        raise typer.BadParameter("--workers and --ray do not go together: with --ray, "
                                 "add --replicas instead")
    if not ray and (replicas != 2 or address is not None):
        raise typer.BadParameter("--replicas and --address only go with --ray")
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # each worker writes its metrics to files that /metrics sums; the client reads
        # this when it is first imported, below
        metrics_dir = tempfile.mkdtemp(prefix="inspekt-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    from .api import ServerSettings
    from .history import HistorySettings
    from .server import load_or_create_api_key
    from .server import serve as run_server

    if api_key_file is not None:
        api_key = api_key_file.read_text(encoding="utf-8").strip() or None
    if api_key and secure:
        raise typer.BadParameter("use either --api-key or --secure, not both")
    if secure:
        api_key, created = load_or_create_api_key(project)
        if created:
            typer.echo(f"inspekt: secure image analyze on; api key (shown once): {api_key}")
        else:
            typer.echo("inspekt: secure image analyze on, with the api key stored in the project")
    if host in ("0.0.0.0", "::") and not api_key:
        typer.echo(
            f"inspekt: WARNING: listening on {host} without an api key: anyone on the network "
            "can analyse images (use --secure)",
            err=True,
        )
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile and --ssl-keyfile go together")
    settings = ServerSettings(
        api_key=api_key,
        viewer_password=viewer_password,
        stop_key=stop_key,
        max_body_bytes=max_body_mb * 1024 * 1024,
        max_queue=max_queue,
        body_timeout=body_timeout,
        header_timeout=header_timeout,
        request_log=None if quiet else log_format,
    )
    recording = HistorySettings(
        enabled=history,
        ok_images=history_ok_images,
        max_age_days=history_days or None,
        max_count=history_max_count or None,
        max_mb=history_max_mb or None,
    )
    open_backend = None
    if ray:
        from .cluster import RayPlan

        plan = RayPlan(replicas, address, not disable_code, f"inspekt-{port}-{os.getpid()}")
        open_backend = plan.open
        # the front door's threads only wait on replicas: as many as analyses admitted
        settings = dataclasses.replace(settings, workers=max_queue)
    try:
        run_server(
            project, host=host, port=port, settings=settings, history=recording,
            allow_code=not disable_code, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
            workers=workers, open_backend=open_backend,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command()
@reports_errors
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create.")],
    template: Annotated[str, typer.Option(help="Project template.")] = "empty",
) -> None:
    """Create a ready project in DIRECTORY."""
    from .templates import create_project

    create_project(directory, template)
    typer.echo(f"created {template} project in {directory}")


@app.command()
@reports_errors
def validate(project: Annotated[Path, typer.Argument(help="Project folder.")]) -> None:
    """Check a project's files, modules and models; print every problem, exit 1 if any.

    Warnings (an empty flow) go to stderr too but do not fail the check.
    """
    from .flow import load_project, project_warnings, validate_project

    problems = validate_project(project)
    for problem in problems:
        typer.echo(" ".join(problem.split()), err=True)
    if problems:
        raise typer.Exit(1)
    # Loading only builds the modules: nothing opens and no user code runs.
    for warning in project_warnings(load_project(project, allow_code=False)):
        typer.echo(f"inspekt: warning: {warning}", err=True)
    typer.echo(f"{project}: ok")


@app.command("modules")
def list_modules(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List module types and their options (from their schemas)."""
    import json

    from .modules import TrainableModule, known_types, lookup
    from .modules.schema import describe_options

    described: dict[str, dict[str, Any]] = {}
    for type_id in known_types():
        cls = lookup(type_id)
        options, required = describe_options(cls.options_model)
        # what `inspekt train --good/--data` must be given for it
        learns_from = cls.learns_from.name.lower() if issubclass(cls, TrainableModule) else None
        described[type_id] = {
            "summary": _summary(cls),
            "trainable": learns_from is not None,
            "learns_from": learns_from,
            "options": options,
            "required": required,
        }
    if json_output:
        typer.echo(json.dumps(described, indent=2))
        return
    for type_id, info in described.items():
        typer.echo(f"{type_id}: {info['summary']}")
        _echo_options(info["options"], info["required"], "")


def _echo_options(options: dict[str, Any], required: list[str], prefix: str) -> None:
    for option, spec in options.items():
        default = "required" if option in required else f"default {spec.get('default')!r}"
        typer.echo(f"    {prefix}{option} ({default}): {spec.get('description', '')}")
        if "properties" in spec:  # a nested option model: list its own options under it
            _echo_options(spec["properties"], spec.get("required", []), f"{prefix}{option}.")


def _summary(cls: type) -> str:
    """First line of the class docstring, else of its module's docstring."""
    doc = (cls.__doc__ or "").strip() or (sys.modules[cls.__module__].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


@app.command()
@reports_errors
def analyze(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    out: Annotated[Path | None, typer.Option(help="Write annotated images here.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    disable_code: Annotated[
        bool, typer.Option("--disable-code", help="Never run Code modules.")
    ] = False,
) -> None:
    """Run the flow on image files and folders without a server; one row per image on stdout."""
    from .batch import CSV_COLUMNS, collect_images, run_batch
    from .flow import load_project
    from .inspection import Inspector

    if output_format not in ("csv", "jsonl"):
        raise typer.BadParameter("use csv or jsonl", param_hint="--format")
    files = collect_images(paths)
    inspector = Inspector(load_project(project, allow_code=not disable_code))
    failures = 0
    try:
        if output_format == "csv":
            sys.stdout.write(",".join(CSV_COLUMNS) + "\n")
        with _progress_bar() as bar:
            task = bar.add_task("analyze", total=len(files))
            rows = run_batch(inspector, files, out, lambda done: bar.update(task, completed=done))
            for row in rows:
                sys.stdout.write(row.as_csv() if output_format == "csv" else row.as_jsonl() + "\n")
                sys.stdout.flush()
                if row.error:
                    failures += 1
                    typer.echo(f"inspekt: error: {row.error}", err=True)
    finally:
        inspector.close()
    if failures:
        raise typer.Exit(1)


def _progress_bar() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=Console(stderr=True), transient=False,
    )


@app.command()
@reports_errors
def train(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    module: Annotated[str | None, typer.Option(help="Train only this module.")] = None,
    good: Annotated[Path | None, typer.Option(help="Folder of good images (anomaly).")] = None,
    defects: Annotated[
        Path | None, typer.Option(help="Folder of defect images (threshold).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Dataset in the layout the module learns from.")
    ] = None,
) -> None:
    """Train every trainable module of PROJECT (or one) and save the models atomically."""
    from .flow.training import train_project
    from .modules import TrainingSources

    sources = TrainingSources(good=good, defects=defects, data=data)
    with _progress_bar() as bar:
        runs = train_project(project, sources, module=module, progress=_stage_reporter(bar))
    for run in runs:
        seconds = run.metadata.get("duration_s", "?")
        counts = ", ".join(
            f"{run.metadata[key]} {key.replace('_', ' ')}"
            for key in ("good_images", "defect_images", "images")
            if key in run.metadata
        )
        typer.echo(f"{run.module}: trained on {counts or 'its data'} in {seconds} s")
        for warning in run.warnings:
            typer.echo(f"inspekt: warning: {warning}", err=True)


def _stage_reporter(bar: Progress) -> Callable[[int, int, str], None]:
    """A progress callback that shows one bar per stage (features, coreset, eval, ...).

    A stage may carry figures after a colon (``fine-tune: loss 0.41, ...``): the bar is
    the part before it, and each new set of figures is also printed as a line, so every
    epoch's validation stays readable after the bar moved on.
    """
    tasks: dict[str, TaskID] = {}

    def report(done: int, total: int, stage: str) -> None:
        name, _, figures = stage.partition(":")
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        bar.update(tasks[name], completed=done, total=total)
        if figures:
            bar.console.print(f"{name} {done}/{total}:{figures}")

    return report


@app.command("eval")
@reports_errors
def evaluate(
    project: Annotated[
        Path, typer.Argument(help="Project folder with a trained module or a reader.")
    ],
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder in the layout the module is measured on.")
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Write plots and worst misses here.")] = None,
    module: Annotated[str | None, typer.Option(help="Evaluate this module.")] = None,
) -> None:
    """Evaluate PROJECT's trained module (or reader) on DATASET."""
    import json

    from .flow.training import evaluate_project

    with _progress_bar() as bar:
        _, result = evaluate_project(
            project,
            dataset,
            module=module,
            progress=_stage_reporter(bar),
            keep_examples=report is not None,
        )
    summary = result.as_json()
    if report is not None:
        result.write_report(report)
    if json_output:
        typer.echo(json.dumps(summary))
        return
    for key, value in summary.items():
        typer.echo(f"{key:>18}: {value}")


@app.command("history")
@reports_errors
def history(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    result: Annotated[
        Literal["ok", "nok", "error"] | None,
        typer.Option(help="Only inspections with this result."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest N inspections.")] = 100,
    output_format: Annotated[
        Literal["csv", "jsonl"],
        typer.Option("--format", help="csv, or jsonl (one object a line)."),
    ] = "csv",
) -> None:
    """Print the inspections recorded in PROJECT's history, newest first."""
    from .history import HISTORY_DIR, history_store, records_csv

    if not (project / HISTORY_DIR).is_dir():
        _fail(f"{project}: no history recorded yet (inspekt serve records one)")
    store = history_store(project)
    try:
        page = store.page(result=result, limit=limit)
    finally:
        store.close()
    if output_format == "csv":
        typer.echo(records_csv(page.records), nl=False)
        return
    for record in page.records:
        typer.echo(json.dumps(record.as_json(with_context=True)))


@app.command("export")
@reports_errors
def export(
    project: Annotated[Path, typer.Argument(help="Project folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Archive to write.")],
) -> None:
    """Write PROJECT (flow, code, models, metadata, each file's SHA-256) into one archive."""
    from .archive import export_project

    manifest = export_project(project, output)
    typer.echo(f"exported {len(manifest['files'])} files of {project} to {output}")


@app.command("import")
@reports_errors
def import_(
    archive: Annotated[Path, typer.Argument(help="Archive written by inspekt export.")],
    directory: Annotated[Path, typer.Argument(help="New (or empty) project folder.")],
) -> None:
    """Check an archive whole (manifest, digests, paths), then unpack it into DIRECTORY."""
    from .archive import import_project

    manifest = import_project(archive, directory)
    typer.echo(f"imported {len(manifest['files'])} files into {directory}")


@app.command("pekat-dist")
@reports_errors
def pekat_dist(directory: Annotated[Path, typer.Argument(help="Folder to write.")]) -> None:
    """Write the launchers PEKAT's SDKs start: pekat_vision/pekat_vision and server/server.exe."""
    from .launcher import write_dist

    for path in write_dist(directory):
        typer.echo(str(path))


def main() -> None:
    """Console entry point."""
    sys.exit(app())

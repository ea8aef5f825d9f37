"""The ``ringwatch`` command line (contract §2 plus generate/export/demo/dashboard/summary).

Exit codes: 0 success, 2 bad input (unreadable file, missing column, bad option or config),
1 any other failure. Progress and messages go to stderr; no raw ID numbers, names or phones
are ever printed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from . import __version__
from .alerts_io import read_alerts
from .config import load_settings
from .errors import InputError, RingwatchError
from .results import current_file

err = Console(stderr=True, highlight=False, markup=False, width=None if sys.stderr.isatty() else 120)
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="ringwatch: graph-analytics fraud-ring detection for social insurance (社保).",
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Embedded LadybugDB path (default) or neo4j:// / bolt:// URI "
        "(credentials from NEO4J_USER / NEO4J_PASSWORD).",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Reference date YYYY-MM-DD (default: end of latest payment month)."),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="ringwatch.toml with thresholds.")]
EncodingOpt = Annotated[
    str | None, typer.Option("--encoding", help="Force the input encoding (utf-8, utf-8-sig, gb18030, gbk).")
]
LockWaitOpt = Annotated[
    float,
    typer.Option(
        "--lock-wait",
        min=0,
        help="Seconds to wait for another ringwatch job on the same store (default 0: refuse at once, exit 1).",
    ),
]
DEFAULT_STORE = "ringwatch.lbug"


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False, markup=False)],
        force=True,
    )
    for noisy in ("neo4j", "streamlit", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(exc: BaseException, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Map exceptions to contract exit codes; no stack trace unless RINGWATCH_DEBUG is set."""
    try:
        yield
    except typer.Exit:
        raise
    except InputError as e:
        _fail(e, 2)
    except RingwatchError as e:
        _fail(e, e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(1) from None
    except Exception as e:  # last resort: a clear message, exit 1
        if os.environ.get("RINGWATCH_DEBUG"):
            raise
        _fail(RuntimeError(f"internal error ({type(e).__name__}): {e}"), 1)


def _progress() -> Callable[[str], None]:
    t0 = time.perf_counter()

    def report(msg: str) -> None:
        err.print(f"[dim]{time.perf_counter() - t0:7.1f}s[/] {escape(msg)}", markup=True)

    return report


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


def _print_load(summary: Any) -> None:
    t = Table(title="load", title_justify="left")
    for col in ("table", "rows in", "loaded", "quarantined", "top reasons"):
        t.add_column(col, justify="right" if col not in ("table", "top reasons") else "left")
    for name, rep in summary.tables.items():
        reasons = sorted(rep["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        t.add_row(
            name,
            f"{rep['rows_in']:,}",
            f"{rep['loaded']:,}",
            f"{rep['quarantined']:,}",
            "; ".join(f"{k} ({v})" for k, v in reasons),
        )
    err.print(t)
    rate = summary.rows_in / summary.seconds if summary.seconds else 0.0
    err.print(
        f"{summary.rows_in:,} rows read, {summary.quarantined:,} quarantined, "
        f"{summary.seconds:.1f}s ({rate:,.0f} rows/s)"
    )
    for table, path in sorted(summary.quarantine_files.items()):
        err.print(f"quarantine: {table} -> {path}")


def _print_detect(summary: Any) -> None:
    t = Table(
        title=f"detect (reference date {summary.reference_date}, run {summary.run_id})", title_justify="left"
    )
    t.add_column("detector")
    t.add_column("alerts", justify="right")
    t.add_column("seconds", justify="right")
    for name, n in summary.by_detector.items():
        t.add_row(name, f"{n:,}", f"{summary.seconds_by_detector.get(name, 0):.1f}")
    for name, why in summary.skipped.items():
        t.add_row(name, "skipped", why)
    err.print(t)
    lv = summary.levels
    err.print(
        f"{summary.alerts:,} alerts (red {lv.get('red', 0)}, orange {lv.get('orange', 0)}, "
        f"yellow {lv.get('yellow', 0)}), amount at risk ¥{summary.amount_at_risk:,.2f} -> {summary.out_dir}"
    )


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log output.")] = False,
) -> None:
    _setup_logging(verbose)


@app.command()
def version() -> None:
    """Print the ringwatch version."""
    typer.echo(__version__)


@app.command()
def load(
    data_dir: Annotated[Path, typer.Argument(help="Directory of contract tables (NAME.csv / NAME.parquet).")],
    store: StoreOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where quarantine/ goes (default: beside the store).")
    ] = None,
    encoding: EncodingOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="Empty the store first (full reload).")] = False,
    lock_wait: LockWaitOpt = 0.0,
) -> None:
    """Add or refresh data in a store (upsert by contract keys)."""
    from . import pipeline

    with _errors():
        store_uri = store or DEFAULT_STORE
        qdir = out or (Path(".") if pipeline.is_server_uri(store_uri) else Path(store_uri).resolve().parent)
        pipeline.ensure_writable_dir(qdir)
        summary = pipeline.load(
            data_dir,
            store_uri,
            quarantine_dir=qdir,
            encoding=encoding,
            mode="replace" if replace else "upsert",
            progress=_progress(),
            lock_wait=lock_wait,
        )
        _print_load(summary)


@app.command()
def detect(
    out: Annotated[Path, typer.Option("--out", help="Output directory for alerts.jsonl / alerts.csv.")],
    store: StoreOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    lock_wait: LockWaitOpt = 0.0,
) -> None:
    """Run all detectors on a store and write the alert files."""
    from . import pipeline

    with _errors():
        settings = load_settings(config)
        pipeline.ensure_writable_dir(out)
        summary = pipeline.detect(
            store or DEFAULT_STORE,
            out,
            settings=settings,
            as_of=_parse_date(as_of, "--as-of"),
            progress=_progress(),
            lock_wait=lock_wait,
        )
        _print_detect(summary)


@app.command()
def run(
    data_dir: Annotated[Path, typer.Argument(help="Directory of contract tables.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (alerts, quarantine, store).")],
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Embedded store path (default OUT/ringwatch.lbug, recreated)."),
    ] = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    encoding: EncodingOpt = None,
    lock_wait: LockWaitOpt = 0.0,
) -> None:
    """Fresh embedded store, load, detect."""
    from . import pipeline

    with _errors():
        settings = load_settings(config)
        as_of_d = _parse_date(as_of, "--as-of")
        pipeline.ensure_writable_dir(out)
        store_path = store or pipeline.fresh_store_path(out)
        loaded, detected = pipeline.run_fresh(
            data_dir,
            out,
            store_path,
            settings=settings,
            as_of=as_of_d,
            encoding=encoding,
            progress=_progress(),
            lock_wait=lock_wait,
        )
        _print_load(loaded)
        _print_detect(detected)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory for the generated tables.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed = same files).")] = 7,
    persons: Annotated[int, typer.Option("--persons", help="Number of persons.", min=1000)] = 20_000,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Truth file (default: OUT.truth.jsonl beside OUT).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    end_month: Annotated[str, typer.Option("--end-month", help="Last payment month YYYY-MM.")] = "2026-10",
    months: Annotated[
        int, typer.Option("--months", help="Months of payment history (6–60).", min=6, max=60)
    ] = 12,
) -> None:
    """Generate synthetic 社保 tables with planted rings and hard decoys."""
    from ringwatch.synth import generate as gen

    with _errors():
        if fmt not in ("csv", "parquet"):
            raise InputError(f"--format must be csv or parquet, got {fmt!r}")
        summary = gen(
            out,
            seed=seed,
            persons=persons,
            truth_path=truth,
            fmt=fmt,  # type: ignore[arg-type]
            end_month=end_month,
            months=months,
            progress=_progress(),
        )
        err.print(f"generated {persons:,} persons into {out} ({summary})")


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Directory for the export.")],
    store: StoreOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="neo4j-admin (header+data CSVs).")] = "neo4j-admin",
) -> None:
    """Export the store for `neo4j-admin database import full`."""
    from ringwatch.graph import open_store
    from ringwatch.graph.export import export_neo4j_admin

    with _errors():
        if fmt != "neo4j-admin":
            raise InputError(f"--format must be neo4j-admin, got {fmt!r}")
        with open_store(store or DEFAULT_STORE, read_only=True) as st:
            result = export_neo4j_admin(st, out)
        err.print(f"exported to {out}: {result}")


@app.command()
def recover(
    out: Annotated[Path, typer.Option("--out", help="Output directory of run/detect.")],
    lock_wait: LockWaitOpt = 0.0,
) -> None:
    """Finish (or discard) the results of a killed run or detect in OUT, without running anything.

    Every run/detect/load does this first anyway; use it to bring the store's alerts and the
    files up to date at once after a crash.
    """
    from ringwatch.results import recover as recover_results

    with _errors():
        done = recover_results(out, lock_wait=lock_wait)
        for line in done:
            err.print(line)
        if not done:
            err.print(f"nothing to recover in {out}")


@app.command()
def summary(
    out: Annotated[Path, typer.Argument(help="Output directory of a run.")],
    top: Annotated[int, typer.Option("--top", help="How many alerts to list.")] = 15,
) -> None:
    """Print a summary of the alerts of a run (masked; explanations only)."""
    with _errors():
        alerts = read_alerts(out / "alerts.jsonl")
        committed = current_file(out / "alerts.jsonl")  # a pending commit's staged copy, if any
        if not alerts and (committed is None or not committed.exists()):
            raise InputError("no alerts.jsonl here", file=str(out / "alerts.jsonl"))
        t = Table(title=f"{len(alerts):,} alerts in {out}", title_justify="left")
        for col in ("detector", "red", "orange", "yellow", "amount at risk (¥)"):
            t.add_column(col, justify="left" if col == "detector" else "right")
        by: dict[str, dict[str, float]] = {}
        for a in alerts:
            d = by.setdefault(a["detector"], {"red": 0, "orange": 0, "yellow": 0, "amount": 0.0})
            d[a["level"]] += 1
            d["amount"] += float(a["amount_at_risk"])
        for name, d in sorted(by.items()):
            t.add_row(
                name, f"{d['red']:.0f}", f"{d['orange']:.0f}", f"{d['yellow']:.0f}", f"{d['amount']:,.2f}"
            )
        print_console = Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 140)
        print_console.print(t)
        for a in alerts[:top]:
            print_console.print(
                f"[{a['level']}] {a['score']:5.1f} {a['detector']:<18} {a['explanation'][:110]}"
            )


@app.command()
def diff(
    run_a: Annotated[str, typer.Argument(help="Earlier run: run id, run directory or alerts.jsonl.")],
    run_b: Annotated[str, typer.Argument(help="Later run: run id, run directory or alerts.jsonl.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output directory holding runs/ (for run ids).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
    cases: Annotated[
        Path | None,
        typer.Option(
            "--cases",
            help="Case-work database (dashboard, <store>.cases.sqlite): closed cases (confirmed/dismissed) "
            "are reported as reopened only when their members grew.",
        ),
    ] = None,
) -> None:
    """List new, gone and changed alerts between two runs (and reopened closed cases)."""
    from .history import closed_cases, diff_paths, resolve_run

    with _errors():
        closed = closed_cases(cases) if cases is not None else None
        d = diff_paths(resolve_run(run_a, out), resolve_run(run_b, out), closed=closed, out_dir=out)
        if as_json:
            doc: dict[str, Any] = {
                "new": [x["alert_id"] for x in d.new],
                "gone": [x["alert_id"] for x in d.gone],
                "changed": [{"alert_id": b["alert_id"], "fields": w} for _, b, w in d.changed],
                "unchanged": d.unchanged,
            }
            if closed is not None:
                doc["reopened"] = [{"alert_id": x["alert_id"], "added": added} for x, added in d.reopened]
                doc["closed"] = d.closed
            typer.echo(json.dumps(doc, ensure_ascii=False))
            return
        con = Console(highlight=False, markup=False)
        line = f"new {len(d.new)}, gone {len(d.gone)}, changed {len(d.changed)}, unchanged {d.unchanged}"
        if closed is not None:
            line += f", reopened {len(d.reopened)}, closed (no new evidence) {d.closed}"
        con.print(line)
        for x in d.new:
            con.print(f"+ {x['alert_id']}  {x['score']:5.1f}  {x['explanation'][:90]}")
        for x in d.gone:
            con.print(f"- {x['alert_id']}  {x['score']:5.1f}  {x['explanation'][:90]}")
        for a, b, what in d.changed:
            con.print(f"~ {b['alert_id']}  {a['score']:.1f} -> {b['score']:.1f}  ({', '.join(what)})")
        for x, added in d.reopened:
            grown = ", ".join(f"+{len(v)} {k}" for k, v in sorted(added.items()))
            con.print(f"! {x['alert_id']}  {x['score']:5.1f}  reopened: evidence grew ({grown})")


@app.command()
def dashboard(
    store: StoreOpt = None,
    alerts: Annotated[Path, typer.Option("--alerts", help="Output directory with alerts.jsonl.")] = Path(
        "out"
    ),
    port: Annotated[int, typer.Option("--port")] = 8501,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    users: Annotated[
        Path | None,
        typer.Option("--users", help="users.toml (hashed passwords, roles); none = local single-user."),
    ] = None,
    cases_db: Annotated[
        Path | None, typer.Option("--cases-db", help="Case-work SQLite (default <store>.cases.sqlite).")
    ] = None,
) -> None:
    """Serve the investigator dashboard (Streamlit)."""
    from ringwatch.dashboard import launch

    with _errors():
        code = launch(store or DEFAULT_STORE, alerts, port=port, host=host, users=users, cases_db=cases_db)
        raise typer.Exit(code)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--dir", help="Working directory for the demo.")] = Path("demo"),
    persons: Annotated[int, typer.Option("--persons")] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard at the end.")] = True,
    port: Annotated[int, typer.Option("--port")] = 8501,
) -> None:
    """Generate data, run every detector, print a summary, score against the truth, serve the dashboard."""
    from . import pipeline

    with _errors():
        data = workdir / "data"
        out = workdir / "out"
        truth = workdir / "truth.jsonl"
        if not (data / "persons.csv").exists():
            generate(out=data, seed=seed, persons=persons, truth=truth)
        run(data_dir=data, out=out)
        summary(out=out, top=10)
        try:
            from ringwatch.synth.quality import load_jsonl, score

            table = score(read_alerts(out / "alerts.jsonl"), load_jsonl(truth))
            Console(highlight=False, markup=False, width=160).print(table.to_string(index=False))
        except ImportError:  # pragma: no cover - quality module ships with synth
            pass
        if serve:
            dashboard(store=str(pipeline.fresh_store_path(out)), alerts=out, port=port)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        sys.exit(code)


if __name__ == "__main__":
    main()

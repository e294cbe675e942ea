"""``python -m runtime.stream_producer --stream NAME [--rate N] (--file F | --generate [--count N])``.

Sends JSON Lines records (or generated demo events) to a Firehose delivery stream with Direct PUT, showing a
progress bar, then reports what was sent, retried and failed. Records still refused after every attempt are
written to ``--failed-out``, so nothing is lost; lines too large for Firehose are named by line number.
Exit status: 0 when every record was accepted, 1 when some were not, 2 for a usage error or a stream that
refuses the run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import boto3
import typer
from botocore.config import Config
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from runtime.stream_producer.producer import MAX_BATCH_RECORDS, Producer, ProducerError, Report
from runtime.stream_producer.records import Rejected, count_lines, file_records, generated_records

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[1])
out, err = Console(), Console(stderr=True)


@app.command()
def main(
    stream: str = typer.Option(..., "--stream", help="The delivery stream's name (output delivery_stream_name)."),
    file: Optional[Path] = typer.Option(None, "--file", exists=True, dir_okay=False, readable=True,
                                        help="A JSON Lines file: one record a line."),
    generate: bool = typer.Option(False, "--generate", help="Send generated demo events instead of a file."),
    count: int = typer.Option(1000, "--count", min=1, help="How many events --generate makes."),
    seed: int = typer.Option(0, "--seed", help="Seed of --generate: the same seed makes the same events."),
    rate: Optional[float] = typer.Option(None, "--rate", min=1, help="At most this many records a second."),
    batch_records: int = typer.Option(MAX_BATCH_RECORDS, "--batch-records", min=1, max=MAX_BATCH_RECORDS,
                                      help="Records per PutRecordBatch call (4 MiB is the other limit)."),
    max_attempts: int = typer.Option(5, "--max-attempts", min=1, max=20,
                                     help="Sends of a refused record before it counts as failed."),
    failed_out: Path = typer.Option(Path("stream-producer-failed.jsonl"), "--failed-out",
                                    help="Where records that could not be sent are written (only if any)."),
    region: Optional[str] = typer.Option(None, "--region", help="AWS region (default: the AWS configuration's)."),
    endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", help="Another Firehose endpoint (tests)."),
) -> None:
    if (file is None) == (not generate):
        raise typer.BadParameter("give exactly one of --file F or --generate", param_hint="--file / --generate")
    rejected = Rejected()
    records = file_records(file, rejected) if file else generated_records(count, seed)
    total = count_lines(file) if file else count
    client = boto3.client("firehose", region_name=region, endpoint_url=endpoint_url,
                          config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("retried {task.fields[retried]}  failed {task.fields[failed]}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(f"to {stream}", total=total, retried=0, failed=0)

        def advance(sent: int, retried: int, failed: int) -> None:
            fields = progress.tasks[task].fields
            progress.update(task, advance=sent + failed, retried=fields["retried"] + retried,
                            failed=fields["failed"] + failed)

        producer = Producer(client, stream, max_attempts=max_attempts, rate=rate, batch_records=batch_records,
                            on_progress=advance)
        try:
            report = producer.send(records)
        except ProducerError as error:
            err.print(f"[red]error:[/red] {error}")
            raise typer.Exit(2) from None
    _summary(report, rejected, failed_out)
    if report.failed or rejected.lines:
        raise typer.Exit(1)


def _summary(report: Report, rejected: Rejected, failed_out: Path) -> None:
    table = Table(title="stream producer", show_header=False)
    for label, value in (("sent", report.sent), ("retried (record re-sends)", report.retried),
                         ("failed after every attempt", len(report.failed)),
                         ("rejected (over 1,000 KiB)", len(rejected.lines)), ("PutRecordBatch calls", report.calls),
                         ("seconds", f"{report.seconds:.2f}"), ("records/s", f"{report.records_per_second:,.0f}")):
        table.add_row(label, str(value))
    out.print(table)
    if report.failed:
        failed_out.write_bytes(b"".join(record + b"\n" for record in report.failed))
        out.print(f"{len(report.failed)} records that were not accepted are in {failed_out}")
    if rejected.lines:
        shown = ", ".join(f"line {n} ({size:,} bytes)" for n, size in list(rejected.lines.items())[:10])
        out.print(f"not sent, too large for Firehose: {shown}{' …' if len(rejected.lines) > 10 else ''}")


if __name__ == "__main__":
    app()

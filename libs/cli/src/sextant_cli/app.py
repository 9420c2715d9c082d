"""``sextant``: the REST API and the Kafka topics from a terminal.

sextant upload sales.csv
sextant submit "Which region sells most?" --dataset-id <id> --follow
sextant publish "Any outliers?" --csv sales.csv --tenant acme
sextant status <analysis-id>
sextant follow <analysis-id>
sextant tail --progress
"""

import asyncio
import json
import sys
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from sextant_cli.charts import write_charts
from sextant_cli.kafka import publish_request, tail
from sextant_cli.render import analysis_text, event_line, thread_text, topic_kind
from sextant_cli.rest import ApiError, SextantClient
from sextant_cli.settings import CliSettings
from sextant_contracts import AnalysisRequested
from sextant_contracts.errors import describe_validation_error

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)

DatasetId = Annotated[str | None, typer.Option(help="A dataset uploaded before.")]
CsvFile = Annotated[
    Path | None, typer.Option(exists=True, dir_okay=False, help="Send this small CSV inline.")
]
Clarify = Annotated[
    bool,
    typer.Option(help="Let it ask which column you mean when the question is unclear."),
]
Documents = Annotated[
    list[str] | None,
    typer.Option("--document", help="TITLE=TEXT of a document to retrieve from (repeatable)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _run(work: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.run(work)
    except ApiError as error:
        _fail(str(error))
    except httpx.TransportError as error:
        _fail(f"cannot reach the API ({type(error).__name__}: {error})")
    except KafkaError as error:
        _fail(f"cannot reach Kafka ({type(error).__name__}: {error})")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _client(settings: CliSettings) -> SextantClient:
    if settings.API_KEY is None or not settings.API_KEY.get_secret_value():
        _fail("set SEXTANT_API_KEY (python -m sextant_ingress create-key <tenant> makes one)", 2)
    return SextantClient(
        settings.API_URL, settings.API_KEY.get_secret_value(), timeout_s=settings.TIMEOUT_S
    )


def analysis_body(
    question: str,
    dataset_id: str | None,
    csv: Path | None,
    documents: list[str] | None,
    *,
    dataset_required: bool = True,
    clarify: bool = False,
) -> dict[str, Any]:
    """The submission body shared by ``submit`` (REST), ``publish`` (Kafka) and ``ask``
    (a follow-up, which may leave the dataset out: the thread's last one is used)."""
    given = (dataset_id is not None) + (csv is not None)
    if given > 1 or (dataset_required and given == 0):
        _fail(
            f"give {'exactly' if dataset_required else 'at most'} one of --dataset-id or --csv",
            2,
        )
    body: dict[str, Any] = {"question": question, "documents": []}
    if clarify:
        body["options"] = {"clarify": True}
    if dataset_id is not None:
        body["dataset_id"] = dataset_id
    if csv is not None:
        body["inline_dataset"] = {"media_type": "text/csv", "content": csv.read_text("utf-8")}
    for index, document in enumerate(documents or [], start=1):
        title, separator, text = document.partition("=")
        if not separator or not text:
            _fail(f"--document {document[:40]!r} is not TITLE=TEXT", 2)
        body["documents"].append({"document_id": f"doc-{index}", "title": title, "text": text})
    return body


async def _print_events(
    client: SextantClient, analysis_id: str, *, answered: str | None = None
) -> None:
    async for event in client.follow(analysis_id, answered=answered):
        typer.echo(event_line(event.event, event.data))


@app.command()
def upload(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    media_type: Annotated[str | None, typer.Option(help="text/csv or application/json")] = None,
) -> None:
    """Upload a CSV or JSON-records dataset; prints its id."""

    async def work() -> None:
        async with _client(CliSettings()) as client:
            dataset = await client.upload(path, media_type)
        typer.echo(json.dumps(dataset))

    _run(work())


@app.command()
def submit(
    question: str,
    dataset_id: DatasetId = None,
    csv: CsvFile = None,
    document: Documents = None,
    clarify: Clarify = False,
    idempotency_key: Annotated[str | None, typer.Option(help="Safe retries.")] = None,
    follow: Annotated[bool, typer.Option(help="Stream progress until it ends.")] = False,
) -> None:
    """Submit an analysis over REST (202 once it is durably recorded)."""
    body = analysis_body(question, dataset_id, csv, document, clarify=clarify)

    async def work() -> None:
        async with _client(CliSettings()) as client:
            accepted = await client.submit(body, idempotency_key=idempotency_key)
            typer.echo(json.dumps(accepted))
            if follow:
                await _print_events(client, str(accepted["analysis_id"]))
                typer.echo(analysis_text(await client.get(str(accepted["analysis_id"]))))

    _run(work())


@app.command()
def ask(
    question: str,
    dataset_id: DatasetId = None,
    csv: CsvFile = None,
    document: Documents = None,
    clarify: Clarify = False,
    thread: Annotated[
        str | None, typer.Option(help="Ask in this thread (default: the current one).")
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new thread.")] = False,
) -> None:
    """Ask in a conversation: a follow-up sees the thread's earlier questions and answers
    ("and for the West only?"). The thread becomes the current one; prints the answer."""
    settings = CliSettings()
    body = analysis_body(
        question, dataset_id, csv, document, dataset_required=False, clarify=clarify
    )
    current = settings.THREAD_FILE.read_text().strip() if settings.THREAD_FILE.exists() else None

    async def work() -> None:
        async with _client(settings) as client:
            thread_id = thread or (None if new else current) or await client.start_thread()
            settings.THREAD_FILE.parent.mkdir(parents=True, exist_ok=True)
            settings.THREAD_FILE.write_text(thread_id)
            accepted = await client.ask(thread_id, body)
            typer.echo(f"thread {thread_id}")
            await _print_events(client, str(accepted["analysis_id"]))
            typer.echo(analysis_text(await client.get(str(accepted["analysis_id"]))))

    _run(work())


@app.command("thread")
def thread_command(
    thread_id: Annotated[str | None, typer.Argument(help="Default: the current one.")] = None,
    as_json: AsJson = False,
) -> None:
    """Show a thread: its questions and answers, in order."""
    settings = CliSettings()
    chosen = thread_id or (
        settings.THREAD_FILE.read_text().strip() if settings.THREAD_FILE.exists() else None
    )
    if chosen is None:
        _fail("no current thread: give its id, or start one with `sextant ask`", 2)

    async def work() -> None:
        async with _client(settings) as client:
            found = await client.thread(chosen)
        typer.echo(json.dumps(found, indent=2) if as_json else thread_text(found))

    _run(work())


@app.command()
def publish(
    question: str,
    tenant: Annotated[str, typer.Option(help="The tenant the analysis belongs to.")],
    dataset_id: DatasetId = None,
    csv: CsvFile = None,
    document: Documents = None,
) -> None:
    """Publish an AnalysisRequested straight to Kafka, as a producer would."""
    body = analysis_body(question, dataset_id, csv, document)
    try:
        request = AnalysisRequested.model_validate({**body, "analysis_id": str(uuid.uuid4())})
    except ValidationError as error:
        _fail(str(describe_validation_error(error)), 2)

    async def work() -> None:
        envelope = await publish_request(CliSettings().KAFKA, request, tenant_id=tenant)
        typer.echo(
            json.dumps(
                {"analysis_id": str(request.analysis_id), "event_id": str(envelope.event_id)}
            )
        )

    _run(work())


@app.command()
def status(
    analysis_id: str,
    as_json: AsJson = False,
    charts: Annotated[
        Path | None,
        typer.Option(help="Write its charts here as SVG, PNG and Vega-Lite JSON (offline)."),
    ] = None,
) -> None:
    """Show an analysis: status, answer, tool calls and citations (and write its charts)."""

    async def work() -> None:
        async with _client(CliSettings()) as client:
            analysis = await client.get(analysis_id)
        typer.echo(json.dumps(analysis, indent=2) if as_json else analysis_text(analysis))
        if charts is not None:
            for written in await asyncio.to_thread(write_charts, analysis, charts):
                typer.echo(f"wrote {written}")

    _run(work())


@app.command()
def follow(analysis_id: str) -> None:
    """Stream an analysis's progress (SSE) until it ends; resumes after disconnects."""

    async def work() -> None:
        async with _client(CliSettings()) as client:
            await _print_events(client, analysis_id)

    _run(work())


@app.command()
def cancel(analysis_id: str, reason: str = "cancelled from the CLI") -> None:
    """Ask a running analysis to stop at its next step."""

    async def work() -> None:
        async with _client(CliSettings()) as client:
            typer.echo(json.dumps(await client.cancel(analysis_id, reason)))

    _run(work())


@app.command()
def resume(
    analysis_id: str,
    choice: Annotated[
        str | None, typer.Argument(help="The option a clarification asks for.")
    ] = None,
    approve: Annotated[
        bool | None, typer.Option("--approve/--decline", help="Answer an approval.")
    ] = None,
    note: Annotated[str, typer.Option(help="Why (with --approve/--decline).")] = "",
    response: Annotated[str | None, typer.Option(help="The answer as JSON, as it is.")] = None,
) -> None:
    """Answer an interrupted analysis; follows it until it ends (or asks again)."""
    if response is not None:
        answer = json.loads(response)
    elif choice is not None:
        answer = {"choice": choice}
    elif approve is not None:
        answer = {"approved": approve, "note": note}
    else:
        _fail("give a CHOICE, --approve/--decline, or --response JSON", 2)

    async def work() -> None:
        async with _client(CliSettings()) as client:
            resuming = await client.resume(analysis_id, answer)
            typer.echo(json.dumps(resuming))
            await _print_events(client, analysis_id, answered=str(resuming["interrupt_id"]))
            typer.echo(analysis_text(await client.get(analysis_id)))

    _run(work())


@app.command("tail")
def tail_command(
    from_beginning: Annotated[bool, typer.Option(help="Read the topics' history too.")] = False,
    group: Annotated[str | None, typer.Option(help="Commit as this consumer group.")] = None,
    progress: Annotated[bool, typer.Option(help="Include progress events.")] = False,
    analysis: Annotated[str | None, typer.Option(help="Only this analysis.")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    as_json: AsJson = False,
) -> None:
    """Subscribe to the result topics as a downstream consumer would."""

    async def work() -> None:
        seen = 0
        events = tail(
            CliSettings().KAFKA, group_id=group, from_beginning=from_beginning, progress=progress
        )
        async for topic_name, event in events:
            if analysis and str(event.get("payload", {}).get("analysis_id")) != analysis:
                continue
            kind = topic_kind(topic_name)
            line = (
                json.dumps({"topic": topic_name, **event}) if as_json else event_line(kind, event)
            )
            typer.echo(line)
            sys.stdout.flush()
            seen += 1
            if count is not None and seen >= count:
                break

    _run(work())


def main() -> None:
    app()

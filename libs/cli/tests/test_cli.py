"""The ``sextant`` command's argument handling and SSE parsing (no services needed)."""

import json
from pathlib import Path

import pytest
from sextant_cli.app import app
from sextant_cli.render import analysis_text, event_line
from sextant_cli.rest import parse_sse_block
from typer.testing import CliRunner

runner = CliRunner()


def test_sse_blocks_parse_as_an_event_source_would() -> None:
    event = parse_sse_block('id: 3\nevent: progress\ndata: {"payload": {"step": "plan"}}')
    assert event is not None
    assert (event.id, event.event, event.data["payload"]["step"]) == ("3", "progress", "plan")
    assert not event.terminal
    multi = parse_sse_block('event: completed\ndata: {"a":\ndata: 1}')
    assert multi is not None
    assert multi.terminal
    assert multi.data == {"a": 1}
    assert parse_sse_block(": keep-alive") is None
    assert parse_sse_block("retry: 2000") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["submit", "Q?"], "exactly one of --dataset-id or --csv"),
        (["submit", "Q?", "--dataset-id", "x", "--document", "no-equals"], "TITLE=TEXT"),
        (["publish", "Q?", "--tenant", "acme"], "exactly one of --dataset-id or --csv"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args, env={"SEXTANT_API_KEY": "sxt_x"})
    assert result.exit_code == 2
    assert message in result.output


def test_publish_validates_the_request_before_touching_kafka(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("a\n1\n")
    result = runner.invoke(app, ["publish", "", "--csv", str(csv), "--tenant", "acme"])
    assert result.exit_code == 2
    assert "question" in result.output


def test_rest_commands_need_an_api_key() -> None:
    result = runner.invoke(app, ["status", "some-id"], env={"SEXTANT_API_KEY": ""})
    assert result.exit_code == 2
    assert "SEXTANT_API_KEY" in result.output


def test_an_unreachable_api_is_a_message_not_a_traceback() -> None:
    env = {"SEXTANT_API_KEY": "sxt_x", "SEXTANT_API_URL": "http://127.0.0.1:9"}
    result = runner.invoke(app, ["status", "some-id"], env=env)
    assert result.exit_code == 1
    assert "cannot reach the API" in result.output


def test_rendering_shows_figures_citations_and_outcomes() -> None:
    text = analysis_text(
        {
            "analysis_id": "a1",
            "status": "completed",
            "question": "Q?",
            "answer": "East leads [T1] since 2038.",
            "ungrounded_numbers": ["2038"],
            "tool_calls": [
                {"call_id": "T1", "tool_name": "group_by_aggregate", "arguments": {}, "result": 7}
            ],
            "citations": [{"marker": "[T1]", "kind": "tool", "source_id": "T1"}],
        }
    )
    assert "group_by_aggregate" in text
    assert "-> 7" in text
    assert "cites [T1] tool T1" in text
    assert "unverified: these numbers appear in no tool result: 2038" in text
    failed = {"event_id": "e1", "payload": {"analysis_id": "a1", "error_code": "llm_unavailable"}}
    assert event_line("failed", failed) == "a1 FAILED llm_unavailable (event e1)"
    progress = {"payload": {"analysis_id": "a1", "step": "plan", "status": "started"}}
    assert json.dumps(event_line("progress", progress)).startswith('"a1 plan')

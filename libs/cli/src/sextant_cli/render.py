"""Plain-text views of analyses and events for a terminal."""

import json
from typing import Any

RESULT_PREVIEW_CHARS = 300


def analysis_text(analysis: dict[str, Any]) -> str:
    """An analysis as ``sextant status`` shows it: status, answer, tool calls, citations."""
    lines = [f"analysis {analysis['analysis_id']}: {analysis['status']}"]
    if analysis.get("question"):
        lines.append(f"question: {analysis['question']}")
    if analysis.get("answer"):
        lines += ["answer:", str(analysis["answer"])]
    if analysis.get("ungrounded_numbers"):
        unverified = ", ".join(map(str, analysis["ungrounded_numbers"]))
        lines.append(f"unverified: these numbers appear in no tool result: {unverified}")
    if analysis.get("ungrounded_values"):
        unverified = ", ".join(map(str, analysis["ungrounded_values"]))
        lines.append(f"unverified: these names appear in no evidence: {unverified}")
    if analysis.get("findings"):
        lines.append("findings:")
        for finding in analysis["findings"]:
            paths = ", ".join(f"{path}" for path in finding.get("paths", {}).values())
            lines.append(f"  [{finding['call_id']}] {finding['statement']}  ({paths})")
    if analysis.get("interrupt"):
        lines += waiting_lines(analysis["interrupt"])
    if analysis.get("error"):
        lines.append(f"error: {json.dumps(analysis['error'])}")
    for call in analysis.get("tool_calls") or []:
        result = json.dumps(call.get("result"))[:RESULT_PREVIEW_CHARS]
        lines.append(
            f"  [{call['call_id']}] {call['tool_name']} {json.dumps(call['arguments'])} -> {result}"
        )
    for citation in analysis.get("citations") or []:
        lines.append(f"  cites {citation['marker']} {citation['kind']} {citation['source_id']}")
    for chart in analysis.get("charts") or []:
        drawn = f"{chart['chart_id']} {chart['kind']}: {chart['title']}"
        lines.append(f"  chart {drawn} (from {chart['call_id']})")
    return "\n".join(lines)


def waiting_lines(interrupt: dict[str, Any]) -> list[str]:
    """What an interrupted analysis asks, and how to answer it."""
    analysis = interrupt.get("analysis_id", "<id>")
    lines = [f"waiting for an answer ({interrupt.get('kind')}): {interrupt.get('prompt')}"]
    if interrupt.get("options"):
        lines.append(f"options: {', '.join(map(str, interrupt['options']))}")
    if interrupt.get("kind") == "approval":
        lines.append(f"answer: sextant resume {analysis} --approve (or --decline --note WHY)")
    else:
        lines.append(f"answer: sextant resume {analysis} CHOICE")
    if interrupt.get("expires_at"):
        lines.append(f"waits until {interrupt['expires_at']} (then: {interrupt.get('on_timeout')})")
    return lines


def event_line(kind: str, event: dict[str, Any]) -> str:
    """One line per event: progress steps, a pause, or the terminal outcome."""
    payload = event.get("payload", {})
    analysis = str(payload.get("analysis_id", "?"))
    if kind == "interrupted":
        return f"{analysis} INTERRUPTED " + "\n  ".join(waiting_lines(payload))
    if kind == "progress":
        line = f"{analysis} {payload.get('step', '?'):<10} {payload.get('status', '?')}"
        message = str(payload.get("message", ""))
        detail = message[message.find("(") :] if "(" in message else ""
        return f"{line} {detail}".rstrip()
    detail = payload.get("error_code") or payload.get("reason") or ""
    return f"{analysis} {kind.upper()} {detail} (event {event.get('event_id')})".rstrip()


def topic_kind(topic_name: str) -> str:
    """``analysis.completed.v1`` -> ``completed``."""
    return topic_name.split(".")[1]


def thread_text(thread: dict[str, Any]) -> str:
    """A thread as ``sextant thread`` shows it: each question and its answer, in order."""
    lines = [f"thread {thread['thread_id']}: {len(thread['analyses'])} questions"]
    for number, analysis in enumerate(thread["analyses"], start=1):
        lines.append(f"Q{number}: {analysis['question']}")
        answer = analysis.get("answer") or f"({analysis['status']})"
        lines.append(f"A{number}: {answer}")
    return "\n".join(lines)

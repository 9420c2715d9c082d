"""Where a request/reply server may answer.

Requests name their ``reply_topic`` so that each requester reads its own replies. Taken
as given, any producer could make the tools or embeddings service publish anywhere (onto
``analysis.completed.v1``, say). A server answers only on topics its allow-list pattern
matches; a request naming another goes to the DLQ with the reason, unanswered.
"""

import re


class ReplyTopicNotAllowed(ValueError):
    """The request names a reply topic this service does not answer on."""


def reply_topic_for(requested: str | None, *, default: str, allowed: str) -> str:
    """``requested`` (or ``default`` when absent) if the ``allowed`` pattern matches it
    whole; raises ReplyTopicNotAllowed otherwise."""
    topic = requested or default
    if re.fullmatch(allowed, topic) is None:
        raise ReplyTopicNotAllowed(
            f"reply_topic {topic!r} is not one this service answers on (pattern {allowed!r})"
        )
    return topic

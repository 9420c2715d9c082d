"""A request/reply server answers only on the reply topics it allows."""

import pytest

from sextant_kafka.reply_topics import ReplyTopicNotAllowed, reply_topic_for

ALLOWED = r"tools\.replied\.v1"


def test_the_default_and_allowed_topics_are_answered_on() -> None:
    assert reply_topic_for(None, default="tools.replied.v1", allowed=ALLOWED) == (
        "tools.replied.v1"
    )
    assert reply_topic_for("tools.replied.v1", default="x", allowed=ALLOWED) == "tools.replied.v1"


@pytest.mark.parametrize(
    "topic", ["analysis.completed.v1", "tools.replied.v1.evil", "xtools.replied.v1"]
)
def test_any_other_topic_is_refused(topic: str) -> None:
    with pytest.raises(ReplyTopicNotAllowed, match="not one this service answers on"):
        reply_topic_for(topic, default="tools.replied.v1", allowed=ALLOWED)

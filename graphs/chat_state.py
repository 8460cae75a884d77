"""Typed state of the chat graph: the thread's messages and what the session last produced."""

from typing import Annotated, Any, TypedDict

from langgraph.graph.message import add_messages


class ChatState(TypedDict, total=False):
    messages: Annotated[list[Any], add_messages]
    last_run_id: str | None  # the last /run in this thread, for /gaps, /drafts and /draft
    last_sources: list[str]  # source ids or URLs behind the last answer

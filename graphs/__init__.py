"""LangGraph state machines."""

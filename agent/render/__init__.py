"""Renderers and checks for drafted documents: Markdown, Word, grammar lint. They depend only on
agent.models and agent.wording, so drafting and reporting can use them."""

"""Typed state of the pipeline graph and its reducers."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from agent.models import (
    Assessment,
    DraftOutput,
    Finding,
    FirmProfile,
    Gap,
    NotApplicable,
    PolicyDraft,
    PolicyInput,
    RegulatoryAnalysis,
    Requirement,
    RunReport,
    Scope,
    Source,
    StepRecord,
)


def merge_by(key: str) -> Callable[[list[Any] | None, list[Any] | None], list[Any]]:
    """Reducer: items replace earlier ones with the same key; ``None`` clears (a step re-run).

    Items are models, or their plain dicts in the served graph's state (graphs/served.py).
    """

    def key_of(x: Any) -> Any:
        return x[key] if isinstance(x, dict) else getattr(x, key)

    def merge(old: list[Any] | None, new: list[Any] | None) -> list[Any]:
        if new is None:
            return []
        merged = {key_of(x): x for x in old or ()}
        merged.update({key_of(x): x for x in new})
        return list(merged.values())

    return merge


# One reducer object per key: the annotations are evaluated again wherever the schema is read, and a
# graph whose state extends PipelineState (graphs/served.py) must find the same reducer each time.
merge_by_id = merge_by("id")
merge_by_requirement_id = merge_by("requirement_id")
merge_by_file_name = merge_by("file_name")


def merge_dict(old: dict[str, str] | None, new: dict[str, str] | None) -> dict[str, str]:
    return {**(old or {}), **(new or {})}


def add_unique(old: list[str] | None, new: list[str] | None) -> list[str]:
    return list(dict.fromkeys([*(old or ()), *(new or ())]))


class PipelineState(TypedDict, total=False):
    # inputs
    run_id: str
    query: str
    scope: Scope
    policies_dir: str | None
    profile_path: str | None  # --profile FILE; else company.toml in the policy folder's root, if any
    profile_fields: dict[str, Any] | None  # company.toml's fields given inline (the served graph's input)
    out_dir: str
    write_drafts: bool  # False in chat: drafts are proposed, and written only after the user confirms
    report_formats: tuple[str, ...]  # report files to write: md, json, docx
    started_at: str
    version: int  # 1, then 2, 3, ... for re-runs from a step (same thread, forked checkpoint)
    rerun_from: str | None
    previous: RunReport | None  # the run this one is compared with
    # research and analysis
    pack: str
    pack_version: str
    pack_as_of: dt.date
    baseline: bool
    regimes: dict[str, str]
    sources: Annotated[list[Source], merge_by_id]
    queries: list[dict[str, Any]]
    search_results: Annotated[list[dict[str, Any]], operator.add]
    texts: Annotated[dict[str, str], merge_dict]  # source id -> fetched text (untrusted data)
    findings: list[Finding]
    requirements: list[Requirement]
    elements: dict[str, tuple[str, ...]]
    analysis: RegulatoryAnalysis
    # policies, assessment, gaps, drafts
    policy_input: PolicyInput
    policy_digest: str
    profile: FirmProfile
    not_applicable: list[NotApplicable]  # requirements the profile puts out of scope (never assessed)
    policy_scan: dict[str, Any]  # what the folder was scanned for (requirement ids, topics): no policy text
    assessments: Annotated[list[Assessment], merge_by_requirement_id]
    compliance_status: dict[str, str]
    gaps: list[Gap]
    drafts: Annotated[list[PolicyDraft], merge_by_file_name]
    outputs: list[DraftOutput]
    report: RunReport
    # run record
    steps: Annotated[list[StepRecord], operator.add]
    warnings: Annotated[list[str], add_unique]


class AssessTask(TypedDict):
    domain: str
    requirement_ids: list[str]
    requirements: list[Requirement]
    policies_dir: str | None
    profile_path: str | None  # --profile FILE; else company.toml in the policy folder's root, if any
    policy_digest: str
    profile: FirmProfile
    not_applicable: list[NotApplicable]  # requirements the profile puts out of scope (never assessed)
    scan: dict[str, Any]  # the state's policy_scan: lets a branch scan the folder again, as read_policies did
    jurisdiction: str
    topics: tuple[str, ...]


class SearchTask(TypedDict):
    query: dict[str, Any]


class FetchTask(TypedDict):
    result: dict[str, Any]


class DraftTask(TypedDict):
    gap: Gap
    state: PipelineState

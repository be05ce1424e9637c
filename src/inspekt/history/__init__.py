"""The inspection history: every inspection recorded in the project, for the dashboard,
the history API and ``inspekt history``; reviews that turn images into training data."""

from __future__ import annotations

from .images import ShownKind, shown
from .recorder import HISTORY_DIR, HistoryRecorder, HistorySettings, history_store
from .review import TO_LABEL, review_record, undo_review
from .store import (
    HistoryError,
    HistoryStore,
    Page,
    Record,
    Review,
    ReviewVerdict,
    Summary,
    iso_time,
    records_csv,
)

__all__ = [
    "HISTORY_DIR",
    "HistoryError",
    "HistoryRecorder",
    "HistorySettings",
    "HistoryStore",
    "Page",
    "Record",
    "Review",
    "ReviewVerdict",
    "ShownKind",
    "Summary",
    "TO_LABEL",
    "history_store",
    "iso_time",
    "records_csv",
    "review_record",
    "shown",
    "undo_review",
]

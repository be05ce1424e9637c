"""The inspection history over HTTP: pages of inspections, one inspection, its images, a
CSV export and a summary, for the dashboard and for scripts.

Reading SQLite and files is blocking work, so every route does it on a worker
thread; the history is read through its own connections and never waits on the
writer. With an api key on, every route needs it, as an analysis does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response

from ..errors import InspektError, NotFoundError, RequestError
from ..history import (
    HistoryRecorder,
    Record,
    ShownKind,
    records_csv,
    review_record,
    shown,
    undo_review,
)
from .auth import check_api_key, viewed_service
from .service import InspectionService

__all__ = ["router"]

router = APIRouter(prefix="/api")

_RESULTS = ("ok", "nok", "error", "-")
_MAX_LIMIT = 1000
_CSV_LIMIT = 100_000


def _history(request: Request, changes: bool = False) -> HistoryRecorder:
    """The history, once the request may read it (or change it: reviews need the key)."""
    if changes:
        service: InspectionService = request.app.state.service
        check_api_key(service.settings.api_key, request.query_params.get("api_key"))
    else:
        service = viewed_service(request)
    if service.history is None:
        raise NotFoundError("this server records no history (started with --no-history)")
    return service.history


def _seconds(name: str, value: str | None) -> float | None:
    """A time given as Unix seconds or ISO 8601 (UTC unless it says otherwise)."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError(
            f"{name}={value!r}: expected Unix seconds or an ISO 8601 time like "
            "2026-12-02T08:00:00"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _whole(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise RequestError(f"{name}={value!r}: expected a whole number") from None
    if not low <= number <= high:
        raise RequestError(f"{name}={number}: expected {low} to {high}")
    return number


def _filters(request: Request) -> dict[str, Any]:
    query = request.query_params
    result = query.get("result") or None
    if result is not None and result not in _RESULTS:
        raise RequestError(f"result={result!r}: expected one of {', '.join(_RESULTS)}")
    return {
        "result": result,
        "since": _seconds("from", query.get("from")),
        "until": _seconds("to", query.get("to")),
    }


def record_json(record: Record, with_context: bool = False) -> dict[str, Any]:
    """A record as the API gives it: its time in ISO 8601, links to its images."""
    out = record.as_json(with_context)
    out["images"] = {kind: f"/api/inspections/{record.id}/images/{kind}" for kind in out["images"]}
    return out


@router.get("/inspections")
async def inspections(request: Request) -> Response:
    """Inspections newest first: ``result``, ``from``, ``to`` filter, ``limit`` (1-1000,
    50) and ``cursor`` (a page's ``next_cursor``) page."""
    history = _history(request)
    filters = _filters(request)
    limit = _whole("limit", request.query_params.get("limit"), 50, 1, _MAX_LIMIT)
    given = request.query_params.get("cursor")
    cursor = None if not given else _whole("cursor", given, 0, 1, 2**62)
    page = await run_in_threadpool(history.store.page, limit=limit, cursor=cursor, **filters)
    return JSONResponse({
        "items": [record_json(record) for record in page.records],
        "next_cursor": page.next_cursor,
    })


@router.get("/inspections.csv")
async def inspections_csv(request: Request) -> Response:
    """The filtered inspections (up to 100,000, newest first) as CSV."""
    history = _history(request)
    filters = _filters(request)
    limit = _whole("limit", request.query_params.get("limit"), _CSV_LIMIT, 1, _CSV_LIMIT)
    page = await run_in_threadpool(history.store.page, limit=limit, **filters)
    return Response(
        records_csv(page.records), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="inspections.csv"'},
    )


@router.get("/inspections/{record_id}")
async def inspection(request: Request, record_id: int) -> Response:
    """One inspection with its rectangles, context and links to its images."""
    history = _history(request)
    record = await run_in_threadpool(_existing, history, record_id)
    return JSONResponse(record_json(record, with_context=True))


@router.get("/inspections/{record_id}/images/{kind}")
async def inspection_image(request: Request, record_id: int, kind: str) -> Response:
    """An inspection's ``input`` image as sent, or its ``annotated`` image or ``heatmap``
    drawn from what was kept."""
    history = _history(request)
    record = await run_in_threadpool(_existing, history, record_id)
    if kind not in record.shown_images:
        kept = ", ".join(record.shown_images) or "none (OK images are sampled)"
        raise NotFoundError(f"inspection {record_id} has no {kind} image; it has {kept}")
    annotation = request.app.state.service.backend.project.annotation
    try:
        found, media = await run_in_threadpool(
            shown, history.folder, record, cast(ShownKind, kind), annotation
        )
    except InspektError as exc:  # a file pruned or removed by hand meanwhile
        raise NotFoundError(f"inspection {record_id}'s {kind} image: {exc}") from exc
    if isinstance(found, Path):
        if not found.is_file():
            raise NotFoundError(f"inspection {record_id}'s {kind} image was removed")
        return FileResponse(found, media_type=media)
    return Response(found, media_type=media)


@router.post("/inspections/{record_id}/review")
async def review(request: Request, record_id: int) -> Response:
    """Mark an inspection's verdict ``wrong`` or ``right`` (JSON ``{"verdict": ...}``): its
    input image is copied into the training data; the record, with the files made."""
    history = _history(request, changes=True)
    try:
        verdict = (await request.json()).get("verdict")
    except (ValueError, AttributeError):
        verdict = None
    if verdict not in ("wrong", "right"):
        raise RequestError('expected a JSON body {"verdict": "wrong"} or {"verdict": "right"}')
    project = request.app.state.service.backend.project

    def reviewed() -> Record:
        record = _existing(history, record_id)
        history.store.set_review(
            record_id, review_record(project, history.folder, record, verdict)
        )
        return _existing(history, record_id)

    return JSONResponse(record_json(await run_in_threadpool(reviewed), with_context=True))


@router.delete("/inspections/{record_id}/review")
async def unreview(request: Request, record_id: int) -> Response:
    """Undo an inspection's review: the training files it made are removed."""
    history = _history(request, changes=True)
    project = request.app.state.service.backend.project

    def undone() -> Record:
        record = _existing(history, record_id)
        if record.review is None:
            raise NotFoundError(f"inspection {record_id} has no review to undo")
        undo_review(project, record.review)
        history.store.set_review(record_id, None)
        return _existing(history, record_id)

    return JSONResponse(record_json(await run_in_threadpool(undone), with_context=True))


@router.get("/reviews")
async def reviews(request: Request) -> Response:
    """Reviewed inspections, newest review first."""
    history = _history(request)
    records = await run_in_threadpool(history.store.reviewed)
    return JSONResponse({"items": [record_json(record) for record in records]})


def _existing(history: HistoryRecorder, record_id: int) -> Record:
    # SQLite's ids are 64-bit: a larger number names no inspection
    record = history.store.get(record_id) if 0 < record_id < 2**63 else None
    if record is None:
        raise NotFoundError(f"no inspection {record_id} in the history")
    return record


@router.get("/summary")
async def summary(request: Request) -> Response:
    """Counts by result, yield % and the scores over ``from``..``to`` (all by default)."""
    history = _history(request)
    filters = _filters(request)
    found = await run_in_threadpool(history.store.summary, filters["since"], filters["until"])
    return JSONResponse({
        "counts": {result: found.counts.get(result, 0) for result in _RESULTS},
        "total": found.total,
        "yield_percent": found.yield_percent,
        "scores": found.scores,
        "recording": history.ready,
        "problem": history.problem,
    })

"""Serve one project across machines on Ray Serve (``inspekt serve PROJECT --ray``).

The process started by ``inspekt serve --ray`` is the front door: the same
Image Analyze API, dashboard, history and metrics as a single server, so every
PEKAT client works unchanged. Only the flow runs elsewhere, on a Ray Serve
deployment of :class:`FlowReplica`: Ray places the replicas on the cluster's
nodes, routes each analysis to a lightly loaded one, re-sends the requests of a
replica that dies to another and starts a replacement. Nothing here balances
load or watches processes itself.

How the parts meet:

- **Models.** The front door exports the project into an archive (every file's
  SHA-256 listed) and hands its bytes to the deployment; each replica unpacks it
  into a folder of its own, which checks every file, and loading the project
  checks each model folder's files against its manifest. A replica on a node
  without the project's disk gets exactly the models that were trained.
- **Per replica:** ``globalData``, Code modules' child processes and a flow's own
  outputs (webhooks, savers) live on the replica that ran the image; ``/last_image``
  is the last image of whichever replica Ray asks.
- **Whole:** a replica returns each finished inspection with its answer, and the
  front door hands it to the history, the metrics and the dashboard exactly as a
  single server does. The history stays one SQLite file on the front door's disk
  (replicas on other nodes share no disk, and SQLite wants its writers on one
  machine), and Prometheus scrapes one address.
- **Refused:** ``/analyze_image_shared_memory`` (a replica cannot read the front
  door's shared memory) answers 400; an analysis no replica answers in time, or
  whose replica is gone for good, answers 503 with ``Retry-After``.

Ray is the optional ``cluster`` extra: this module imports it only when a
backend is opened, so the rest of inspekt never needs it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .api import InspectionBackend
from .api.params import AnalyzeParams, ResponseType
from .api.responses import Answer, build_answer
from .archive import export_project, import_project
from .context import TRACE_KEY, trace_of
from .errors import InspektError, OverloadedError
from .flow import Project, load_project
from .inspection import (
    ImageSource,
    InspectionOptions,
    Inspector,
    LastImage,
    Subscriber,
    notify,
)
from .results import Inspection
from .types import Image

__all__ = ["FlowReplica", "RayBackend", "RayPlan", "ReplicaRequest"]

log = logging.getLogger(__name__)

#: Seconds an analysis may wait for a replica (all busy, or one being replaced).
REPLICA_WAIT_S = 30.0
#: Seconds stopping waits for Ray to close the replicas' flows.
REMOVE_WAIT_S = 30.0
#: A replica's project is unpacked into ``<temp>/<this><pid>-<random>``.
REPLICA_FOLDER = "inspekt-replica-"
#: What a 503 from the Ray path tells the client to wait: a replica takes seconds to
#: replace, not the moment a full queue takes to drain.
RETRY_AFTER_S = 5
#: Analyses sent to one replica at once: one running, one arriving meanwhile. More
#: would queue on a replica that may die, instead of at the router.
REPLICA_ONGOING = 2


@dataclass(frozen=True)
class ReplicaRequest:
    """One analysis as it travels to a replica: one object, so the image's bytes that
    both the source and ``options.encoded`` hold are sent once."""

    source: ImageSource
    options: InspectionOptions
    response_type: ResponseType
    context_in_body: bool


class FlowReplica:
    """One replica: the project unpacked from its archive, opened, and run through
    the inspection seam. A plain class; Ray Serve makes it a deployment."""

    def __init__(self, archive: bytes, allow_code: bool) -> None:
        _remove_orphans()
        self._folder = Path(tempfile.mkdtemp(prefix=f"{REPLICA_FOLDER}{os.getpid()}-"))
        self._last = LastImage()
        try:
            packed = self._folder / "project.inspekt"
            packed.write_bytes(archive)
            project_dir = self._folder / "project"
            import_project(packed, project_dir)  # refuses a file whose SHA-256 differs
            packed.unlink()
            # loading checks each model folder against the manifest it was trained with
            self.inspector = Inspector(load_project(project_dir, allow_code=allow_code))
            self.inspector.subscribe(self._last)
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise

    def inspect(self, request: ReplicaRequest) -> tuple[Answer, Inspection]:
        """The answer the client gets, and the inspection for the front door's history."""
        inspection = self.inspector.inspect(request.source, request.options)
        answer = build_answer(inspection, request.response_type, request.context_in_body)
        return answer, _travelling(inspection, answer.context_json, request.options.pictures)

    def last_image(self) -> Image | None:
        """The image this replica's last analysis ended with."""
        return self._last.image

    def __del__(self) -> None:
        # Ray Serve's way of stopping a replica; also runs when the class is used directly
        inspector = getattr(self, "inspector", None)
        if inspector is not None:
            inspector.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _remove_orphans() -> None:
    """Remove the folders of this node's replicas that were killed before they closed."""
    for folder in Path(tempfile.gettempdir()).glob(f"{REPLICA_FOLDER}*-*"):
        pid = folder.name[len(REPLICA_FOLDER):].partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _travelling(inspection: Inspection, context_json: bytes, pictures: bool) -> Inspection:
    """What the front door's subscribers read, in a form that crosses to another process.

    The context's public keys go as the JSON the client got (all the history keeps of
    them) with the flow's trace, and the pictures the history and the dashboard draw
    unless the image is OK and the front door said it needs none: they are most of
    the bytes, and most images are OK. The client's bytes stay behind, since the
    front door still has them.
    """
    context = inspection.context
    carried = orjson.loads(context_json)
    sent = pictures or inspection.verdict != "ok"
    for key in ("image", "input_image", "heatmap"):
        carried[key] = context.get(key) if sent else None
    carried[TRACE_KEY] = trace_of(context)
    return dataclasses.replace(inspection, context=carried, encoded=None)


@dataclass(frozen=True)
class RayPlan:
    """Where and how wide to serve: what ``--ray``, ``--replicas`` and ``--address`` say."""

    replicas: int = 2
    #: A running cluster (``host:port`` or ``auto``); None starts Ray on this machine.
    address: str | None = None
    allow_code: bool = True
    #: Ray Serve application name; one per front door, so stations share a cluster.
    app_name: str = "inspekt"

    def open(self, project: Project) -> InspectionBackend:
        """Connect to Ray, deploy the replicas and wait until they all loaded the project."""
        return RayBackend.start(project, self)


class RayBackend:
    """The front door's side: sends each analysis to a replica, hears back the inspection."""

    reads_shared_memory = False

    def __init__(self, project: Project, handle: Any, plan: RayPlan) -> None:
        self._project = project
        self._handle = handle
        self._plan = plan
        self._subscribers: list[Subscriber] = []

    @classmethod
    def start(cls, project: Project, plan: RayPlan) -> RayBackend:
        try:
            import ray
            from ray import serve
            from ray.serve.config import ProxyLocation
        except ImportError as exc:
            raise InspektError(
                f"--ray needs Ray Serve, the optional cluster extra: pip install "
                f"'inspekt[cluster]' ({exc})"
            ) from exc
        archive = _archive_bytes(project.path)
        logging.getLogger("ray.serve").setLevel(logging.WARNING)  # not a line per replica
        ray.init(
            address=plan.address, namespace="inspekt", include_dashboard=False,
            log_to_driver=False, logging_level=logging.WARNING, configure_logging=True,
        )
        try:
            serve.start(proxy_location=ProxyLocation.Disabled)  # the front door is HTTP
            deployment = serve.deployment(
                name="flow",
                num_replicas=plan.replicas,
                max_ongoing_requests=REPLICA_ONGOING,
                # a project that does not load will not load on a second try either
                max_constructor_retry_count=1,
                health_check_period_s=2,
            )(FlowReplica)
            handle = serve.run(
                deployment.bind(archive, plan.allow_code), name=plan.app_name,
                route_prefix=None,
            )
        except BaseException as exc:
            ray.shutdown()
            if isinstance(exc, Exception):
                raise InspektError(f"the replicas could not start: {exc}") from exc
            raise
        return cls(project, handle, plan)

    @property
    def project(self) -> Project:
        return self._project

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def last_image(self) -> Image | None:
        """The last image of whichever replica Ray asks: per replica, as ``globalData``."""
        import ray.exceptions

        try:
            image: Image | None = self._handle.last_image.remote().result(
                timeout_s=REPLICA_WAIT_S
            )
        except (TimeoutError, ray.exceptions.RayError) as exc:
            raise OverloadedError(
                f"no replica answered for its last image ({type(exc).__name__}); retry",
                retry_after=RETRY_AFTER_S,
            ) from exc
        return image

    def answer(
        self, source: ImageSource, options: InspectionOptions, params: AnalyzeParams
    ) -> Answer:
        request = ReplicaRequest(source, options, params.response_type, params.context_in_body)
        answer, inspection = self._ask(request)
        inspection.encoded = options.encoded
        notify(self._subscribers, inspection)
        return answer

    def _ask(
        self, request: ReplicaRequest, deadline: float | None = None
    ) -> tuple[Answer, Inspection]:
        """A replica's answer; one that dies with the image is asked of another once."""
        import ray.exceptions
        from ray.serve.exceptions import RayServeException

        first = deadline is None
        deadline = time.monotonic() + REPLICA_WAIT_S if deadline is None else deadline
        response = self._handle.inspect.remote(request)
        try:
            answered: tuple[Answer, Inspection] = response.result(
                timeout_s=max(deadline - time.monotonic(), 0.1)
            )
        except ray.exceptions.RayTaskError as exc:  # raised in the replica: its own error
            cause = exc.cause
            if isinstance(cause, InspektError):
                raise cause from None
            raise InspektError(f"the replica failed: {cause!r}") from exc
        except TimeoutError:
            response.cancel()
            raise OverloadedError(
                f"no replica answered within {REPLICA_WAIT_S:g} s (all busy, or being "
                "replaced); retry shortly", retry_after=RETRY_AFTER_S,
            ) from None
        except ray.exceptions.RayActorError as exc:
            # Ray re-sends what was still queued for a dead replica, not the image it was
            # running; the flow's answer depends on the image alone, so ask another
            if first:
                log.warning("a replica stopped during an analysis (%s); asking another",
                            type(exc).__name__)
                return self._ask(request, deadline)
            raise OverloadedError(
                f"two replicas stopped while running this analysis ({type(exc).__name__}); "
                "retry shortly", retry_after=RETRY_AFTER_S,
            ) from exc
        except (ray.exceptions.RayError, RayServeException) as exc:
            raise OverloadedError(
                f"Ray Serve could not run this analysis ({type(exc).__name__}: {exc}); "
                "retry shortly", retry_after=RETRY_AFTER_S,
            ) from exc
        return answered

    def close(self) -> None:
        """Remove the deployment (replicas close their flows), then let go of Ray, which
        stops it when this process started it."""
        import ray

        removing = threading.Thread(target=self._remove, name="inspekt-ray-remove", daemon=True)
        removing.start()
        # Ctrl-C reaches a Ray started here as well, and a dead raylet leaves removal hanging
        removing.join(REMOVE_WAIT_S)
        if removing.is_alive():
            log.warning("Ray did not remove the replicas within %g s; leaving them to Ray",
                        REMOVE_WAIT_S)
        ray.shutdown()

    def _remove(self) -> None:
        from ray import serve

        try:
            serve.delete(self._plan.app_name)
        except Exception as exc:  # stopping goes on: the history still needs closing
            log.warning("could not remove the Ray Serve application: %s", exc)


def _archive_bytes(project_dir: Path) -> bytes:
    with tempfile.TemporaryDirectory(prefix="inspekt-export-") as folder:
        packed = Path(folder) / "project.inspekt"
        export_project(project_dir, packed)
        return packed.read_bytes()

"""The MLflow connection: one MLflow run per command, nested runs per device or trial.

Everything goes through `MlflowClient` with explicit run ids (no global active run), so a library
caller's own MLflow runs are left alone. Every string sent (params, tags, artifact text) passes the
Redactor first, built from the tracking URI's password and the farms' credential variables; the
tracking URI shown to people has its password replaced."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import UserError
from ..core.text import Redactor

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

INSTALL_HINT = "--mlflow needs the MLflow client: pip install 'flint-bench[mlflow]' (or pip install mlflow-skinny)."
DEFAULT_EXPERIMENT = "flint-bench"
# the environment variables whose values are secrets wherever they show up (farm credentials, MLflow's own)
SECRET_VARIABLES = (
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "BROWSERSTACK_ACCESS_KEY",
    "SAUCE_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
)
_PARAM_LIMIT = 6000  # MLflow rejects longer param values
_KEY_LIMIT = 250
_BATCH = 100  # params and tags per log_batch call (the server's limit; metrics allow 1,000)


def _client_class() -> type[MlflowClient]:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return MlflowClient


def tracking_uri(uri: str | None = None) -> str:
    value = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not value:
        raise UserError(
            "--mlflow: set MLFLOW_TRACKING_URI to the tracking server (e.g. http://127.0.0.1:5000) or a local store "
            "(e.g. sqlite:///mlflow.db); MLFLOW_EXPERIMENT_NAME picks the experiment (default flint-bench)."
        )
    return value


def shown_uri(uri: str) -> str:
    """The URI without its password, for messages."""
    parts = urllib.parse.urlsplit(uri)
    if parts.username is None:
        return uri
    host = parts.hostname or ""
    # user:password, or a token alone in the user part (https://TOKEN@host)
    user = "***" if parts.password is None else f"{parts.username}:***"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def redactor_for(uri: str) -> Redactor:
    parts = urllib.parse.urlsplit(uri)
    token = parts.username if parts.password is None else None  # https://TOKEN@host
    secrets = [os.environ.get(name) for name in SECRET_VARIABLES] + [parts.password, token]
    return Redactor(secrets, pairs=[(parts.username, parts.password)])


def flat_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config tables as dotted keys; lists as JSON; None left out (MLflow has no null param)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flat_params(value, f"{name}.")
        elif value is not None:
            text = json.dumps(value) if isinstance(value, list | tuple) else str(value)
            out[name] = text if len(text) <= _PARAM_LIMIT else text[: _PARAM_LIMIT - 1] + "…"
    return out


def numeric(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of a flat mapping (bools and text left out: they are params)."""
    return {
        k: float(v)
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))
    }


def _key(name: str) -> str:
    """MLflow keys allow letters, digits and _-. /; anything else becomes _."""
    cleaned = "".join(c if c.isalnum() or c in "_-. /" else "_" for c in name)
    return cleaned[:_KEY_LIMIT]


@dataclass
class Tracker:
    """One MLflow run (`run_id`) of the experiment; `child` opens a nested run under it."""

    client: MlflowClient
    experiment_id: str
    experiment_name: str
    run_id: str
    uri: str
    redact: Redactor
    children: list[str] = field(default_factory=list)

    def params(self, values: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        flat = flat_params(values)
        items = [Param(_key(k), self.redact(v)) for k, v in sorted(flat.items())]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + _BATCH])

    def tags(self, values: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(_key(k), self.redact(str(v))) for k, v in sorted(values.items()) if v is not None]
        for i in range(0, len(items), _BATCH):
            self.client.log_batch(self.run_id, tags=items[i : i + _BATCH])

    def metrics(self, values: Mapping[str, Any], step: int = 0) -> None:
        self.series([(step, values)])

    def series(self, steps: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        """Metrics at several steps (a curve): one batch per 1,000 points."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        points = [Metric(_key(k), v, now, int(step)) for step, values in steps for k, v in numeric(values).items()]
        for i in range(0, len(points), 1000):
            self.client.log_batch(self.run_id, metrics=points[i : i + 1000])

    def artifact(self, path: Path, folder: str | None = None) -> None:
        """A file, redacted on the way (artifacts are text documents: JSON, HTML, Markdown)."""
        if not path.is_file():
            return
        text = path.read_text(errors="replace")
        clean = self.redact(text)
        if clean == text:
            self.client.log_artifact(self.run_id, str(path), folder)
            return
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / path.name
            copy.write_text(clean)
            self.client.log_artifact(self.run_id, str(copy), folder)

    def document(self, name: str, document: Any, folder: str | None = None) -> None:
        """A JSON document as an artifact file `name`."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(json.dumps(document, indent=2, default=str, allow_nan=False))
            self.artifact(path, folder)

    @contextmanager
    def child(self, name: str) -> Iterator[Tracker]:
        """A nested run (one device, one trial), finished with this block."""
        run = self.client.create_run(
            self.experiment_id, run_name=_key(self.redact(name)), tags={"mlflow.parentRunId": self.run_id}
        )
        nested = Tracker(self.client, self.experiment_id, self.experiment_name, run.info.run_id, self.uri, self.redact)
        self.children.append(nested.run_id)
        status = "FAILED"
        try:
            yield nested
            status = "FINISHED"
        finally:
            self.client.set_terminated(nested.run_id, status)


@contextmanager
def start_run(command: str, run_name: str | None = None, uri: str | None = None) -> Iterator[Tracker]:
    """An MLflow run for one command in the experiment MLFLOW_EXPERIMENT_NAME (default flint-bench):
    FINISHED when the block ends, FAILED when it raises (the error itself is re-raised)."""
    from .. import __version__
    from ..core.contract import SCHEMA_VERSION, host_commit

    client_class = _client_class()
    target = tracking_uri(uri)
    # MLflow prints the run's URL on stdout: it would break `--format json` and show the URI's password
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    redact = redactor_for(target)
    client = client_class(tracking_uri=target)
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    try:
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        run = client.create_run(experiment_id, run_name=_key(redact(run_name or command)))
    except Exception as e:  # the server's or the store's error, without the URI's password
        raise UserError(f"--mlflow: cannot reach the tracking store {shown_uri(target)}: {redact(str(e))[:500]}") from None
    tracker = Tracker(client, experiment_id, name, run.info.run_id, target, redact)
    tracker.tags(
        {
            "flint_bench.command": command,
            "flint_bench.version": __version__,
            "flint_bench.commit": host_commit(),
            "flint_bench.schema_version": SCHEMA_VERSION,
            "mlflow.source.git.commit": host_commit(),
        }
    )
    status = "FAILED"
    try:
        yield tracker
        status = "FINISHED"
    finally:
        client.set_terminated(tracker.run_id, status)

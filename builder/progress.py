"""How a build reports progress and warnings, kept apart from the pipeline.

The pipeline talks to a `Reporter`; the CLI passes a rich one, tests and library callers a quiet one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Task as RichTask
from rich.text import Text

from builder.terminal import printable


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Reporter(Protocol):
    warnings: list[str]

    def task(self, description: str, total: int | None) -> AbstractContextManager[Task]: ...

    def warn(self, message: str) -> None: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


class QuietReporter:
    """Collects warnings, shows nothing."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class _RateColumn(ProgressColumn):
    """Items per second (images/s while extracting)."""

    def render(self, task: RichTask) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f}/s" if speed else "", style="progress.data.speed")


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress, self._id = progress, task_id
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._progress.advance(self._id, n)


class RichReporter:
    """Progress bars on stderr, warnings printed above them. Use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.warnings: list[str] = []
        self.progress = Progress(
            TextColumn("{task.description:<30}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        task = _RichTask(self.progress, self.progress.add_task(description, total=total))
        yield task
        self.progress.update(task._id, total=task.done)  # a bar that ends full, whatever was skipped

    def warn(self, message: str) -> None:
        """Kept as given for the caller (BuildResult.warnings); printed safe for a terminal, since a warning
        often quotes a file name or a metadata value."""
        self.warnings.append(message)
        self.console.print(Text("warning: ", style="yellow") + Text(printable(message)))

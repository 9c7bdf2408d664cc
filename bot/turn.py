"""What a message handler is given and what it may change: the contract between the dialogue and its handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.models import ReportDraft, Resident
from core.services.intake import ReportInput
from core.settings import Settings


@dataclass
class Turn:
    """One message's work: the unit of work, the resident, and a copy of their draft report.

    Handlers change `report` and set the flags; only the dialogue writes the draft row, so the
    row changes in one place whatever the handler did.
    """

    uow: UnitOfWork
    settings: Settings
    redis: Any
    resident: Resident
    conversation: ReportDraft
    report: ReportInput
    # Set by handlers that changed nothing but the draft, whose commit need not wait for the disk.
    draft_only: bool = False
    # Set when the draft became a case: the dialogue starts the resident's next draft afresh.
    submitted: bool = False
    # When the resident said 「注销」 and was asked to confirm, as this message found it (None: nothing
    # pending); and what the dialogue keeps after this message: a handler sets it for 「注销」, so any
    # other message leaves it None and cancels the request.
    erase_asked_at: datetime | None = None
    erase_pending: datetime | None = None
    # Set when the resident's data was erased: their draft row is gone, and nothing is written back.
    erased: bool = False

    @property
    def session(self) -> Session:
        return self.uow.session

    def start_over(self) -> None:
        """The draft is done with (it became a case): the next message starts a new one."""
        self.report = ReportInput()
        self.submitted = True


# A handler answers one message: the reply text, or None to acknowledge with `success`.
Handler = Callable[[Turn, Any], "str | None"]

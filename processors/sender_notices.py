"""What the sender is told, and when: one notice per change of their case (domain.md §4.1 step 4,
the seed's "thông báo kết quả … đến các tổ chức, cá nhân biết, theo dõi và đánh giá").

Pure: ``decide(memory, event_type, record)`` reads one event of the case log and returns the
case's new memory and the notice to send, if any. The memory of a case is small and holds no
personal data: the sender's pseudonym, where the submission is on the log (to open the e-mail
address there, when one is sent), the last command waiting for its handling deadline, and the
ids of the notices already sent (a redelivered event gives the same id: sent once).

- received, with the handling due time: the handling DeadlineSet of a ``receive`` → ``received``
- answered without a result (rejected, reason code): CaseTransition ``reject`` → ``answered``
- information requested (answered through the API): ``request_info`` → ``information_requested``
- result published, asking for a rating: ``approve_result`` → ``result_published``
- reopened, with the new handling due time: the handling DeadlineSet of a ``reopen`` → ``reopened``
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from processors.case import derived_event_id

NOTICES_NS = uuid.UUID("9a4c2e71-3b5d-4f86-a0e9-6c1b7d3f5e28")
KINDS = ("received", "answered", "information_requested", "result_published", "reopened")
# commands whose notice waits for the handling deadline they set (emitted right after them)
_WITH_DUE = {"receive": "received", "reopen": "reopened"}
_AT_ONCE = {
    "reject": "answered",
    "request_info": "information_requested",
    "approve_result": "result_published",
}
KEEP_IDS = 32  # notice ids remembered per case: far more than a case's redelivery window


@dataclass(frozen=True)
class CaseMemory:
    case_id: str
    pseudonym: str
    submission_partition: int = -1  # where the CaseSubmitted is on case.events
    submission_offset: int = -1
    pending_command_id: str | None = None  # a receive / reopen waiting for its handling due
    pending_command: str | None = None
    sent: tuple[str, ...] = field(default_factory=tuple)  # notice ids already sent

    def as_record(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "pseudonym": self.pseudonym,
            "submission_partition": self.submission_partition,
            "submission_offset": self.submission_offset,
            "pending_command_id": self.pending_command_id,
            "pending_command": self.pending_command,
            "sent": list(self.sent),
        }

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> CaseMemory:
        return cls(
            case_id=str(r["case_id"]),
            pseudonym=r["pseudonym"],
            submission_partition=r["submission_partition"],
            submission_offset=r["submission_offset"],
            pending_command_id=r.get("pending_command_id"),
            pending_command=r.get("pending_command"),
            sent=tuple(r.get("sent") or ()),
        )


def notice_id(event_id: str, kind: str) -> str:
    return str(uuid.uuid5(NOTICES_NS, f"{event_id}/{kind}"))


def _notice(m: CaseMemory, kind: str, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    env = event["envelope"]
    return {
        "notice_id": notice_id(str(env["event_id"]), kind),
        "case_id": m.case_id,
        "pseudonym": m.pseudonym,
        "kind": kind,
        "occurred_at": env["occurred_at"],
        "status": extra.get("status"),
        "due_at": extra.get("due_at"),
        "reason_code": extra.get("reason_code"),
        "rating_requested": kind == "result_published",
        "source_event_id": str(env["event_id"]),
    }


def decide(
    memory: CaseMemory | None,
    event_type: str,
    record: dict[str, Any],
    *,
    position: tuple[int, int] = (-1, -1),
) -> tuple[CaseMemory | None, dict[str, Any] | None]:
    """The case's memory after ``record`` (a decoded event of ``event_type`` on case.events, at
    ``position`` = (partition, offset)), and the notice it causes (None: nothing to tell)."""
    if event_type == "CaseSubmitted":
        if memory is not None:
            return memory, None  # a redelivered submission: the first stands
        case_id = str(record["envelope"]["case_id"])
        sender = record["sender"]
        return CaseMemory(case_id, sender["pseudonym"], *position), None
    if memory is None:
        return None, None  # a case whose submission this process never saw: no one to tell
    notice: dict[str, Any] | None = None
    if event_type == "CaseTransition":
        command = record["command"]
        if command in _WITH_DUE:
            memory = replace(
                memory, pending_command_id=str(record["command_id"]), pending_command=command
            )
        elif command in _AT_ONCE:
            kind = _AT_ONCE[command]
            reason = record.get("reason") if command == "reject" else None
            notice = _notice(memory, kind, record, status=record["to_status"], reason_code=reason)
    elif event_type == "DeadlineSet" and record["stage"] == "handle":
        pending = memory.pending_command_id
        expected = derived_event_id(pending, "deadline/handle") if pending else None
        if expected is not None and str(record["envelope"]["event_id"]) == expected:
            kind = _WITH_DUE[memory.pending_command or "receive"]
            notice = _notice(memory, kind, record, status="received", due_at=record["due_at"])
            memory = replace(memory, pending_command_id=None, pending_command=None)
    if notice is None:
        return memory, None
    if notice["notice_id"] in memory.sent:
        return memory, None  # the same change again (a redelivered event): told once
    return replace(memory, sent=(*memory.sent, notice["notice_id"])[-KEEP_IDS:]), notice


# --- the e-mail ---------------------------------------------------------------------------------
_SUBJECTS = {
    "received": ("Phản ánh của bạn đã được tiếp nhận", "Your feedback was received"),
    "answered": ("Phản ánh của bạn đã được trả lời", "Your feedback was answered"),
    "information_requested": (
        "Cơ quan xử lý cần thêm thông tin",
        "The handling unit needs more information",
    ),
    "result_published": (
        "Kết quả xử lý đã được công khai — mời bạn đánh giá",
        "The result is published — please rate it",
    ),
    "reopened": ("Phản ánh của bạn đã được mở lại", "Your feedback was reopened"),
}


def email_text(notice: dict[str, Any], tracking_url: str, due_text: str | None) -> tuple[str, str]:
    """(subject, body) in Vietnamese and English; nothing but the case's own facts."""
    vi, en = _SUBJECTS[notice["kind"]]
    lines = [vi, en, ""]
    if due_text:
        lines += [f"Hạn xử lý / Handling due: {due_text}"]
    if notice.get("reason_code"):
        lines += [f"Lý do / Reason: {notice['reason_code']}"]
    if notice["kind"] == "result_published":
        lines += ["Mời bạn đánh giá kết quả / Please rate the result in the app."]
    if notice["kind"] == "information_requested":
        lines += ["Trả lời trong ứng dụng / Answer in the app (provide_info)."]
    lines += ["", f"Theo dõi / Track: {tracking_url}"]
    return f"[iHanoi] {vi} / {en}", "\n".join(lines) + "\n"

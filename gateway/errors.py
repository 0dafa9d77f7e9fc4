"""Every rejection: an HTTP status, a stable code, and a message in Vietnamese and English."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Vietnamese stays readable in every JSON answer.
dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    vi: str
    en: str


# Request-level codes.
ERRORS: dict[str, tuple[int, Message]] = {
    "invalid_json": (
        400,
        Message("Nội dung không phải JSON hợp lệ.", "The body is not valid JSON."),
    ),
    "invalid_multipart": (
        400,
        Message("Dữ liệu multipart không hợp lệ.", "The multipart body is not valid."),
    ),
    "validation_failed": (
        422,
        Message("Dữ liệu gửi lên chưa hợp lệ.", "Some fields are not valid."),
    ),
    "payload_too_large": (
        413,
        Message("Dữ liệu gửi lên quá lớn.", "The request or one of its files is too large."),
    ),
    "too_many_files": (413, Message("Quá nhiều tệp đính kèm.", "Too many attached files.")),
    "unsupported_media_type": (
        415,
        Message("Định dạng không được hỗ trợ.", "This content type is not supported."),
    ),
    "not_found": (404, Message("Không tìm thấy.", "Not found.")),
    "method_not_allowed": (405, Message("Phương thức không được phép.", "Method not allowed.")),
    "warehouse_unavailable": (
        503,
        Message(
            "Chưa tra cứu được, vui lòng thử lại sau.",
            "The warehouse cannot be read right now; please retry later.",
        ),
    ),
    "kafka_unavailable": (
        503,
        Message(
            "Hệ thống tạm thời chưa nhận được phản ánh, vui lòng gửi lại sau.",
            "The system cannot accept submissions right now; please retry later.",
        ),
    ),
}

# Field-level codes (inside validation_failed).
FIELD_MESSAGES: dict[str, Message] = {
    "required": Message("Trường này là bắt buộc.", "This field is required."),
    "too_short": Message("Giá trị quá ngắn.", "The value is too short."),
    "too_long": Message("Giá trị quá dài.", "The value is too long."),
    "invalid_type": Message("Kiểu dữ liệu không đúng.", "The value has the wrong type."),
    "invalid_choice": Message("Giá trị không nằm trong danh sách cho phép.", "Unknown value."),
    "out_of_range": Message("Giá trị ngoài phạm vi cho phép.", "The value is out of range."),
    "unknown_field": Message("Trường không được hỗ trợ.", "This field is not accepted."),
    "invalid_datetime": Message(
        "Thời gian không hợp lệ (ISO-8601).", "Not a valid ISO-8601 date-time."
    ),
    "invalid_id_number": Message(
        "Số CCCD phải gồm đúng 12 chữ số.", "The citizen identity number must be 12 digits."
    ),
    "invalid_phone": Message(
        "Số điện thoại di động Việt Nam không hợp lệ.", "Not a valid Vietnamese mobile number."
    ),
    "invalid_email": Message("Địa chỉ email không hợp lệ.", "Not a valid email address."),
    "invalid_tax_code": Message(
        "Mã số thuế phải gồm 10 chữ số hoặc 13 ký tự (10 số, '-', 3 số).",
        "The tax code must be 10 digits, or 10 digits, '-' and 3 digits.",
    ),
    "tax_code_required": Message(
        "Tổ chức, doanh nghiệp phải cung cấp mã số thuế.",
        "Organisations must give their tax code.",
    ),
    "unknown_category": Message("Lĩnh vực phản ánh không tồn tại.", "Unknown category."),
    "location_required": Message(
        "Cần vị trí (toạ độ hoặc địa chỉ) của sự việc.",
        "A location is required: coordinates or an address.",
    ),
    "invalid": Message("Giá trị không hợp lệ.", "The value is not valid."),
}


@dataclass
class FieldError:
    field: str
    code: str
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        msg = FIELD_MESSAGES.get(self.code, FIELD_MESSAGES["invalid"])
        out: dict[str, Any] = {
            "field": self.field,
            "code": self.code,
            "message": {"vi": msg.vi, "en": msg.en},
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class ApiError(Exception):
    code: str
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    def response(self) -> web.Response:
        msg = ERRORS[self.code][1]
        body: dict[str, Any] = {"code": self.code, "message": {"vi": msg.vi, "en": msg.en}}
        if self.fields:
            body["fields"] = [f.as_json() for f in self.fields]
        return web.json_response(
            {"error": body}, status=self.status, headers=self.headers, dumps=dumps
        )

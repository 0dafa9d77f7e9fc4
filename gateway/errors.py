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
    "invalid_media": (
        422,
        Message("Tệp đính kèm bị hỏng hoặc rỗng.", "An attached file is corrupt or empty."),
    ),
    "rate_limited": (
        429,
        Message(
            "Bạn gửi quá nhiều yêu cầu, vui lòng thử lại sau.",
            "Too many requests; please retry later.",
        ),
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
    "media_store_unavailable": (
        503,
        Message(
            "Chưa lưu được tệp đính kèm, vui lòng gửi lại sau.",
            "The media store cannot be reached right now; please retry later.",
        ),
    ),
    # --- authentication (401) and authorization (403): gateway/auth.py, docs/auth.md
    "token_missing": (
        401,
        Message(
            "Cần đăng nhập: thiếu mã xác thực (Authorization: Bearer ...).",
            "Authentication required: send 'Authorization: Bearer <token>'.",
        ),
    ),
    "token_malformed": (
        401,
        Message(
            "Tiêu đề xác thực không đúng dạng 'Bearer <token>'.",
            "The Authorization header is not of the form 'Bearer <token>'.",
        ),
    ),
    "token_invalid": (
        401,
        Message(
            "Mã xác thực không hợp lệ (sai chữ ký hoặc khoá không được chấp nhận).",
            "The token is not valid (bad signature or key not accepted).",
        ),
    ),
    "token_expired": (
        401,
        Message(
            "Mã xác thực đã hết hạn, vui lòng đăng nhập lại.",
            "The token has expired; please sign in again.",
        ),
    ),
    "token_not_yet_valid": (
        401,
        Message("Mã xác thực chưa có hiệu lực.", "The token is not valid yet."),
    ),
    "token_wrong_issuer": (
        401,
        Message(
            "Mã xác thực không do nơi cấp được chấp nhận phát hành.",
            "The token was not issued by an accepted issuer.",
        ),
    ),
    "token_wrong_audience": (
        401,
        Message(
            "Mã xác thực không dành cho hệ thống này.",
            "The token is not meant for this service (audience).",
        ),
    ),
    "token_claims_invalid": (
        401,
        Message(
            "Mã xác thực thiếu hoặc sai thông tin vai trò, đơn vị hoặc người gửi.",
            "The token's role, unit or sender claims are missing or wrong.",
        ),
    ),
    "role_not_allowed": (
        403,
        Message(
            "Vai trò của bạn không được thực hiện thao tác này.",
            "Your role may not perform this action.",
        ),
    ),
    "not_your_unit": (
        403,
        Message(
            "Phản ánh này không thuộc đơn vị của bạn.",
            "This case belongs to another unit.",
        ),
    ),
    "not_your_case": (
        403,
        Message(
            "Bạn chỉ được thao tác trên phản ánh do chính mình gửi.",
            "You may only act on feedback you submitted yourself.",
        ),
    ),
}


def _m(vi: str, en: str) -> Message:
    return Message(vi, en)


# The worker's refusals of a command (docs/workflow.md), as HTTP answers.
ERRORS |= {
    "invalid_transition": (
        409,
        _m(
            "Không thể thực hiện thao tác này ở trạng thái hiện tại.",
            "This action is not possible in the case's current status.",
        ),
    ),
    "unknown_case": (
        404,
        _m(
            "Không tìm thấy phản ánh (có thể đang được ghi nhận, thử lại sau).",
            "No such case (it may still be registering; retry shortly).",
        ),
    ),
    "command_refused": (422, _m("Thao tác bị từ chối.", "The action was refused.")),
    "unknown_command": (422, _m("Thao tác không tồn tại.", "Unknown action.")),
    "unknown_media": (
        422,
        _m("Tệp đính kèm chưa được tải lên.", "The attached file has not been uploaded."),
    ),
    "rejection_reason_required": (
        422,
        _m(
            "Cần lý do từ chối theo quy định.", "A rejection needs one of the regulation's reasons."
        ),
    ),
    "assignee_required": (
        422,
        _m("Cần người hoặc bộ phận xử lý.", "Name the handling officer or division."),
    ),
    "target_unit_required": (422, _m("Cần đơn vị nhận.", "Name the receiving unit.")),
    "target_is_current_unit": (
        422,
        _m("Đơn vị nhận trùng đơn vị hiện tại.", "The receiving unit is the current unit."),
    ),
    "forward_target_not_in_area": (
        422,
        _m(
            "Chỉ chuyển cho đơn vị cấp xã trên địa bàn.",
            "Forward only to a commune-level unit of the area.",
        ),
    ),
    "transfer_target_not_department": (
        422,
        _m(
            "Chỉ chuyển cho sở, ban, ngành có thẩm quyền.",
            "Transfer only to a competent department.",
        ),
    ),
    "forward_kind_not_allowed": (
        422,
        _m(
            "Đơn vị này không chuyển xuống cấp dưới được.",
            "This unit has no lower unit to forward to.",
        ),
    ),
    "forward_target_not_location": (
        422,
        _m(
            "Chỉ chuyển cho đơn vị cấp xã nơi xảy ra sự việc.",
            "Forward only to the commune of the location.",
        ),
    ),
    "forward_target_outside_domain": (
        422,
        _m(
            "Đơn vị nhận không phụ trách lĩnh vực này.",
            "The receiving unit does not handle this domain.",
        ),
    ),
    "transfer_source_not_allowed": (
        422,
        _m("Đơn vị này không đề nghị chuyển được.", "This unit cannot propose a transfer."),
    ),
    "transfer_target_not_competent": (
        422,
        _m(
            "Sở, ngành nhận không có thẩm quyền về lĩnh vực này.",
            "That department is not competent for this domain.",
        ),
    ),
    "same_unit": (
        422,
        _m("Đơn vị nhận trùng đơn vị hiện tại.", "The receiving unit is the current unit."),
    ),
    "unknown_unit": (422, _m("Đơn vị không tồn tại.", "Unknown unit.")),
    "evidence_required": (
        422,
        _m(
            "Kết quả xử lý phải có ít nhất một ảnh hoặc tài liệu minh chứng.",
            "A result must carry at least one photo or document proving the handling.",
        ),
    ),
    "result_text_required": (422, _m("Cần nội dung kết quả.", "The result needs a text.")),
    "reason_required": (422, _m("Cần lý do.", "A reason is required.")),
    "invalid_level": (422, _m("Mức độ không hợp lệ.", "Not a valid level.")),
    "invalid_rating": (422, _m("Đánh giá không hợp lệ.", "Not a valid rating.")),
    "extension_without_legal_basis": (
        422,
        _m("Gia hạn phải nêu căn cứ pháp lý.", "An extension must state its legal basis."),
    ),
    "extension_beyond_cap": (
        422,
        _m("Gia hạn vượt quá thời hạn tối đa.", "The extension goes beyond the maximum."),
    ),
    "extension_not_later": (
        422,
        _m(
            "Hạn mới phải sau hạn hiện tại.", "The new deadline must be later than the current one."
        ),
    ),
    "extension_after_breach": (
        409,
        _m("Đã quá hạn, không thể gia hạn.", "Already late: it cannot be extended."),
    ),
    "extension_not_allowed": (
        409,
        _m("Không được gia hạn giai đoạn này.", "This stage cannot be extended."),
    ),
    "new_due_required": (422, _m("Cần hạn mới.", "The new deadline is required.")),
    "no_extension_requested": (409, _m("Chưa có đề nghị gia hạn.", "No extension was requested.")),
    "pause_not_allowed": (
        409,
        _m("Không được tạm dừng giai đoạn này.", "This stage cannot be paused."),
    ),
    "pause_after_due": (
        409,
        _m("Đã quá hạn, không thể tạm dừng.", "Already past the deadline: it cannot be paused."),
    ),
    "clock_paused": (
        409,
        _m("Đang tạm dừng chờ bổ sung thông tin.", "Paused while waiting for information."),
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
    "unknown_media": Message(
        "Tệp chưa được tải lên (POST /v1/media).", "Upload the file first (POST /v1/media)."
    ),
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
    "organisation_required": Message(
        "Phản ánh của nhà đầu tư, doanh nghiệp phải do tổ chức gửi (có mã số thuế).",
        "Investor and business feedback is sent by an organisation (with its tax code).",
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
    extra: dict[str, Any] = field(default_factory=dict)  # context for the caller

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    def response(self) -> web.Response:
        msg = ERRORS[self.code][1]
        body: dict[str, Any] = {"code": self.code, "message": {"vi": msg.vi, "en": msg.en}}
        if self.fields:
            body["fields"] = [f.as_json() for f in self.fields]
        body |= self.extra
        return web.json_response(
            {"error": body}, status=self.status, headers=self.headers, dumps=dumps
        )


# Publication, tracking, oversight reads and Open311 (gateway/public.py, gateway/open311.py).
ERRORS |= {
    "invalid_query": (
        400,
        _m("Tham số tra cứu không hợp lệ.", "Some query parameters are not valid."),
    ),
    "invalid_month": (
        400,
        _m("Tháng phải có dạng YYYY-MM.", "The month must be given as YYYY-MM."),
    ),
    "open311_invalid_api_key": (
        403,
        _m("Khoá api_key thiếu hoặc không hợp lệ.", "The api_key is missing or not valid."),
    ),
    "open311_invalid_request": (
        400,
        _m("Yêu cầu Open311 chưa hợp lệ.", "The Open311 request is not valid."),
    ),
}

# Submission integrity (processors/identity.py, processors/wording.py, processors/media_checks.py;
# docs/integrity.md).
FIELD_MESSAGES |= {
    "id_number_unknown_province": Message(
        "Mã tỉnh (3 số đầu) của số CCCD không tồn tại.",
        "The province code (first 3 digits) of the identity number does not exist.",
    ),
    "id_number_birth_year_in_future": Message(
        "Năm sinh trong số CCCD nằm ở tương lai.",
        "The birth year encoded in the identity number is in the future.",
    ),
    "id_number_implausible_birth_year": Message(
        "Năm sinh trong số CCCD không hợp lý (quá 120 tuổi).",
        "The birth year encoded in the identity number is implausible (over 120 years old).",
    ),
    "id_number_under_minimum_age": Message(
        "Người gửi phải đủ 14 tuổi (theo năm sinh trong số CCCD).",
        "The sender must be at least 14 (by the birth year in the identity number).",
    ),
    "email_invalid_local_part": Message(
        "Phần tên (trước @) của email không hợp lệ.",
        "The part of the email address before '@' is not valid.",
    ),
    "email_invalid_domain": Message(
        "Tên miền (sau @) của email không hợp lệ.",
        "The domain of the email address (after '@') is not valid.",
    ),
    "email_invalid_tld": Message(
        "Đuôi tên miền của email không hợp lệ.",
        "The top-level domain of the email address is not valid.",
    ),
    "tax_code_bad_check_digit": Message(
        "Mã số thuế sai chữ số kiểm tra (số thứ 10).",
        "The tax code's check digit (10th digit) is wrong.",
    ),
    "tax_code_invalid_serial": Message(
        "Mã số thuế không hợp lệ (số thứ 3 đến 9 không được đều bằng 0).",
        "The tax code is not valid (digits 3 to 9 cannot all be zero).",
    ),
    "tax_code_invalid_branch": Message(
        "Mã đơn vị phụ thuộc (3 số sau dấu '-') phải từ 001 đến 999.",
        "The branch suffix (3 digits after '-') must be 001 to 999.",
    ),
    "offensive_wording": Message(
        "Nội dung có từ ngữ thô tục, xúc phạm; vui lòng sửa lại.",
        "The text contains offensive or vulgar wording; please rephrase it.",
    ),
    "media_empty": Message("Tệp đính kèm rỗng.", "The attached file is empty."),
    "media_type_unknown": Message(
        "Không nhận ra định dạng tệp (chỉ nhận ảnh JPEG, PNG, WebP, HEIC, video MP4/MOV, PDF).",
        "Unrecognised file format (accepted: JPEG, PNG, WebP, HEIC images, MP4/MOV video, PDF).",
    ),
    "media_type_not_allowed": Message(
        "Định dạng tệp này không được chấp nhận.", "This file format is not accepted."
    ),
    "media_type_mismatch": Message(
        "Nội dung tệp không đúng với định dạng khai báo.",
        "The file's content does not match its declared type.",
    ),
    "media_too_large": Message("Tệp quá dung lượng cho phép.", "The file is too large."),
    "media_total_too_large": Message(
        "Tổng dung lượng các tệp vượt mức cho phép.", "The files together are too large."
    ),
    "too_many_media": Message("Quá nhiều tệp đính kèm.", "Too many attached files."),
    "media_too_many_pixels": Message(
        "Ảnh có kích thước điểm ảnh quá lớn.", "The image has too many pixels."
    ),
    "media_corrupt": Message("Tệp bị lỗi hoặc không đầy đủ.", "The file is corrupt or truncated."),
    "media_near_duplicate": Message(
        "Ảnh trùng hoặc gần trùng với ảnh đã được người khác gửi.",
        "The image is the same as, or nearly the same as, one already sent by someone else.",
    ),
}


# Warnings to citizens (gateway/warnings.py; refusals of processors/warnings.py).
ERRORS |= {
    "warning_exists": (409, _m("Cảnh báo đã tồn tại.", "The warning already exists.")),
    "warning_not_found": (404, _m("Không tìm thấy cảnh báo.", "No such warning.")),
    "not_draft": (
        409,
        _m("Cảnh báo không còn ở dạng dự thảo.", "The warning is no longer a draft."),
    ),
    "not_approved": (409, _m("Cảnh báo chưa được duyệt.", "The warning is not approved yet.")),
    "warning_final": (
        409,
        _m("Cảnh báo đã bị huỷ hoặc thay thế.", "The warning was cancelled or superseded."),
    ),
    "warning_expired": (409, _m("Cảnh báo đã hết hiệu lực.", "The warning has expired.")),
    "invalid_content": (
        422,
        _m(
            "Nội dung cảnh báo chưa hợp lệ (loại, mức độ, tiêu đề, nội dung hoặc vùng).",
            "The warning's content is not valid (category, severity, headline, text or area).",
        ),
    ),
    "unknown_commune": (422, _m("Mã xã, phường không tồn tại.", "Unknown commune code.")),
    "empty_area": (
        422,
        _m("Cần vùng cảnh báo (xã, phường, hình tròn hoặc đa giác).", "The area is empty."),
    ),
    "invalid_times": (
        422,
        _m("Thời điểm hết hiệu lực phải sau thời điểm có hiệu lực.", "Expiry must follow effect."),
    ),
    "superseded_by_missing": (
        422,
        _m("Cần mã cảnh báo thay thế.", "Name the warning that supersedes this one."),
    ),
    "warnings_unavailable": (
        503,
        _m("Chưa đọc xong danh sách cảnh báo, thử lại sau.", "Warnings not loaded yet; retry."),
    ),
}


# Personal data: re-identification and erasure (docs/privacy.md).
ERRORS |= {
    "identity_erased": (
        410,
        _m(
            "Thông tin cá nhân của người gửi đã được xoá theo yêu cầu; không thể xác định lại.",
            "The sender's personal data was erased on request; it cannot be re-identified.",
        ),
    ),
    "identity_unavailable": (
        409,
        _m(
            "Chưa đọc được thông tin người gửi của phản ánh này (đang được ghi nhận).",
            "The sender's sealed identity cannot be read yet (the case is still registering).",
        ),
    ),
}
FIELD_MESSAGES |= {
    "justification_required": Message(
        "Cần nêu căn cứ xác định lại người gửi (ít nhất 10 ký tự: yêu cầu, văn bản, mã hồ sơ).",
        "A justification is required (at least 10 characters: the request, the act, the ticket).",
    ),
}
# Citizen-reception booking (processors/reception.py REFUSALS, gateway/reception.py;
# docs/reception.md).
ERRORS |= {
    "unknown_session": (
        404,
        _m("Không tìm thấy buổi tiếp công dân.", "No such reception session."),
    ),
    "session_exists": (
        409,
        _m(
            "Buổi tiếp công dân này đã được công bố.",
            "This reception session is already published.",
        ),
    ),
    "invalid_session": (
        422,
        _m(
            "Buổi tiếp công dân chưa hợp lệ (ngày, khung giờ hoặc số chỗ).",
            "The session is not valid (date, time slots or capacities).",
        ),
    ),
    "not_a_working_day": (
        422,
        _m(
            "Chỉ tổ chức tiếp công dân vào ngày làm việc.",
            "Reception sessions are held on working days only.",
        ),
    ),
    "slot_outside_office_hours": (
        422,
        _m(
            "Khung giờ tiếp phải nằm trong giờ làm việc.",
            "Every time slot must lie within office hours.",
        ),
    ),
    "booking_not_open": (
        409,
        _m(
            "Chưa đến thời gian đăng ký buổi tiếp này.", "Booking for this session is not open yet."
        ),
    ),
    "booking_closed": (
        409,
        _m("Đã hết thời gian đăng ký buổi tiếp này.", "Booking for this session has closed."),
    ),
    "unknown_slot": (
        422,
        _m("Khung giờ không có trong buổi tiếp này.", "This session has no such time slot."),
    ),
    "slot_full": (
        409,
        _m(
            "Khung giờ này đã hết chỗ, vui lòng chọn khung giờ khác.",
            "This time slot is full; please choose another one.",
        ),
    ),
    "already_booked": (
        409,
        _m(
            "Bạn đã có một lịch đăng ký trong buổi tiếp này.",
            "You already hold a booking in this session.",
        ),
    ),
    "unknown_booking": (
        404,
        _m("Không tìm thấy mã đăng ký.", "No such booking code in this session."),
    ),
    "not_your_booking": (
        403,
        _m(
            "Mã đăng ký này không phải của bạn.",
            "This booking belongs to someone else.",
        ),
    ),
    "booking_not_active": (
        409,
        _m(
            "Lịch đăng ký đã huỷ hoặc đã được ghi nhận.",
            "This booking is cancelled or already checked in / marked as a no-show.",
        ),
    ),
    "same_slot": (
        422,
        _m("Lịch đăng ký đã ở khung giờ này.", "The booking is already in this time slot."),
    ),
    "session_started": (
        409,
        _m("Khung giờ tiếp đã bắt đầu.", "The time slot has already begun."),
    ),
    "session_not_started": (
        409,
        _m("Buổi tiếp chưa diễn ra.", "The session has not begun yet."),
    ),
    "unknown_op": (422, _m("Thao tác không tồn tại.", "Unknown action.")),
    "identity_mismatch": (
        403,
        _m(
            "Số CCCD không khớp với tài khoản đăng nhập.",
            "The identity number does not match the signed-in citizen.",
        ),
    ),
    "reception_refused": (422, _m("Yêu cầu bị từ chối.", "The request was refused.")),
}

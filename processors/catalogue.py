"""What can be submitted: the processes of the regulation and the feedback categories (data)."""

from __future__ import annotations

from dataclasses import dataclass

# domain.md §2: the five processes and the investor/business service.
PROCESSES = (
    "field_feedback",
    "administrative_procedure",
    "waste_report",
    "investor_business",
    "initiative",
)


@dataclass(frozen=True)
class Category:
    code: str
    vi: str
    en: str
    process: str = "field_feedback"


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("road_damage", "Hư hỏng đường, vỉa hè", "Damaged road or pavement"),
        Category("waste", "Rác thải, vệ sinh môi trường", "Waste and sanitation"),
        Category("encroachment", "Lấn chiếm lòng đường, vỉa hè", "Encroachment on public space"),
        Category("flooding", "Ngập úng, thoát nước", "Flooding and drainage"),
        Category("lighting", "Chiếu sáng công cộng", "Public lighting"),
        Category("noise", "Tiếng ồn", "Noise"),
        Category("trees", "Cây xanh", "Trees and green space"),
        Category("water_supply", "Cấp nước", "Water supply"),
        Category("traffic", "Trật tự, an toàn giao thông", "Traffic order and safety"),
        Category("construction", "Trật tự xây dựng", "Construction order"),
        Category("other", "Khác", "Other"),
    )
}

"""The editable defaults from DOMAIN.md: seven must-visit tags (7类必访对象), four must-patrol place types (4类必巡区域).

Tags and patrol site types belong to a street: `ensure_defaults` copies the defaults into one street when it is
created (`ningju.registry.services.street_create`), and puts back missing ones where a database was emptied."""

from ningju.registry.models import PatrolSiteType, Street, Tag

MUST_VISIT_TAGS = [
    ("独居老人", False, "独自居住的老年人"),
    ("高龄老人(80岁以上)", False, "80周岁及以上老人"),
    ("困难家庭(低保/低收入)", False, "低保、低收入等困难家庭"),
    ("残疾人", False, "持证残疾人及其家庭"),
    ("优抚对象", False, "军烈属、退役军人等优抚对象"),
    ("失独家庭", False, "独生子女死亡的家庭"),
    ("重点关注人员", True, "需每周走访的重点关注对象"),
]
PATROL_TYPES = ["楼道及公共部位", "非机动车棚及充电区域", "垃圾厢房", "沿街商铺"]


def ensure_defaults(street: Street) -> None:
    """Create the street's missing defaults (never overwrites one the street administrator edited)."""
    for order, (name, high_risk, description) in enumerate(MUST_VISIT_TAGS, start=1):
        Tag.objects.get_or_create(
            street=street,
            name=name,
            defaults={
                "category": "must_visit",
                "high_risk": high_risk,
                "description": description,
                "sort_order": order,
            },
        )
    for order, name in enumerate(PATROL_TYPES, start=1):
        PatrolSiteType.objects.get_or_create(
            street=street, name=name, defaults={"must_patrol": True, "sort_order": order}
        )

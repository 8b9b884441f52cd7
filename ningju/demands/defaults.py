"""The editable default taxonomy of demands (诉求分类), with the department a street usually dispatches each to.

The article names what residents raise: bar noise, a shared garbage room, elevator retrofits, parking, property
management, e-bike charging. Each street gets its own copy when it is created (`ensure_categories`, called by
`ningju.registry.services.street_create`); its administrator edits them. The usual department is the street's
department of that name, where it has one (`link_default_departments`).
"""

from ningju.registry.models import Street

# (top-level category, usual department, [(sub-category, usual department or None for the parent's)])
CATEGORIES: list[tuple[str, str, list[tuple[str, str | None]]]] = [
    (
        "环境卫生",
        "绿化市容",
        [("垃圾分类与垃圾厢房", None), ("楼道堆物", "消防"), ("绿化养护", None), ("卫生死角", None)],
    ),
    ("噪音扰民", "城管", [("商铺夜间经营噪音", "市场监管"), ("施工噪音", None), ("邻里噪音", "司法所")]),
    (
        "物业管理",
        "物业监管",
        [("物业服务", None), ("公共设施维修", None), ("维修资金", "房管"), ("业委会运作", "房管")],
    ),
    ("房屋与加装电梯", "房管", [("加装电梯", None), ("房屋渗漏", None), ("老旧小区改造", None)]),
    ("停车与交通", "派出所", [("停车难", None), ("非机动车停放", "城管"), ("道路设施", "绿化市容")]),
    (
        "消防与安全",
        "消防",
        [("电动自行车充电", None), ("飞线充电", None), ("消防通道占用", None), ("群租", "房管")],
    ),
    ("市容与违法建筑", "城管", [("违法搭建", None), ("占道经营", None), ("沿街商铺管理", "市场监管")]),
    ("为老与帮困", "民政", [("养老服务", None), ("老年助餐", None), ("困难帮扶", None), ("残疾人服务", None)]),
    ("医疗卫生", "卫生健康", [("家庭医生", None), ("病媒防治", None)]),
    ("政策咨询", "民政", [("社保医保", None), ("证明开具", "派出所"), ("其他咨询", None)]),
    ("邻里纠纷", "司法所", [("邻里矛盾", None), ("房屋租赁纠纷", None)]),
]


def ensure_categories(street: Street) -> None:
    """Create the street's missing default categories (never renames or re-parents an edited one) and link those
    without a usual department to the street's department of that name."""
    from ningju.demands.models import Category

    for name, _department, children in CATEGORIES:
        parent, _created = Category.objects.get_or_create(street=street, name=name, parent=None)
        for child, _child_department in children:
            Category.objects.get_or_create(street=street, name=child, parent=parent)
    link_default_departments(street)


def usual_departments() -> dict[tuple[str, str | None], str]:
    """(name, parent name or None) → the usual department's name, for every default category."""
    usual: dict[tuple[str, str | None], str] = {}
    for name, department, children in CATEGORIES:
        usual[(name, None)] = department
        for child, child_department in children:
            usual[(child, name)] = child_department or department
    return usual


def link_default_departments(street: Street) -> int:
    """Point each default category that has no usual department yet at the street's department of that name.

    Returns how many categories were linked. Categories the administrator already linked are left alone.
    """
    from ningju.demands.models import Category
    from ningju.registry.models import Department

    departments = {d.name: d for d in Department.objects.filter(street=street, active=True)}
    usual = usual_departments()
    changed = []
    for category in Category.objects.select_related("parent").filter(
        street=street, default_department__isnull=True
    ):
        wanted = usual.get((category.name, category.parent.name if category.parent else None))
        if wanted in departments:
            category.default_department = departments[wanted]
            changed.append(category)
    Category.objects.bulk_update(changed, ["default_department"])
    return len(changed)

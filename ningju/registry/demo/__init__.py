"""The demo street (`ningju demo`): 江宁路街道 with its 16 real residents' committees and a generated population.

`places` and `people` generate (pure, seeded); `build` writes to the database; `reference` holds the fixed facts.
"""

from ningju.registry.demo.build import (
    DEFAULT_HOUSEHOLDS,
    DEFAULT_SEED,
    DemoAccounts,
    DemoResult,
    demo_accounts,
    demo_build,
    demo_delete,
)

__all__ = [
    "DEFAULT_HOUSEHOLDS",
    "DEFAULT_SEED",
    "DemoAccounts",
    "DemoResult",
    "demo_accounts",
    "demo_build",
    "demo_delete",
]

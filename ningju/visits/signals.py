"""After a visit is saved, the coming routes of the cadres it concerns are re-planned in the background, once the
visit's transaction has committed (a failed re-plan never fails or undoes the visit)."""

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ningju.visits.models import Visit


@receiver(post_save, sender=Visit, dispatch_uid="ningju_visits_replan_after_visit")
def replan_after_visit_saved(
    sender: type[Visit], instance: Visit, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if created and not raw:
        transaction.on_commit(partial(_queue_replan, str(instance.pk)), robust=True)


def _queue_replan(visit_id: str) -> None:
    from ningju.visits.tasks import replan_after_visit_task

    replan_after_visit_task(visit_id)

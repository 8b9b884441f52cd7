"""The visit planner: each cadre's daily walk (which households and patrol sites, in which order) for a street.

`plan_street` plans a whole street for a horizon (a background job for the pages), `plan_cadre_day` re-plans
one cadre's day interactively, `plan_json` gives the command-line JSON form, `check_plan` lists every rule a plan
breaks.
See `schedule` for how visits are grouped into days, `tsp` for the ordering, `geo` for the walking distance.
"""

from ningju.visits.planner.check import Violation, check_plan
from ningju.visits.planner.services import build_tasks, plan_cadre_day, plan_json, plan_street

__all__ = ["Violation", "build_tasks", "check_plan", "plan_cadre_day", "plan_json", "plan_street"]

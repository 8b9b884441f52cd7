"""Demand pages: each views module lists its own URLs."""

from ningju.demands.views import detail, hotline, intake, lists, rates, settings

urlpatterns = [
    *lists.urlpatterns,
    *intake.urlpatterns,
    *hotline.urlpatterns,
    *rates.urlpatterns,
    *settings.urlpatterns,
    *detail.urlpatterns,
]

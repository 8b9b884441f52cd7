"""Meeting pages: each views module lists its own URLs."""

from ningju.meetings.views import actions, assessment, events, meetings, training, troika

urlpatterns = [
    *troika.urlpatterns,
    *actions.urlpatterns,
    *events.urlpatterns,
    *training.urlpatterns,
    *assessment.urlpatterns,
    *meetings.urlpatterns,
]

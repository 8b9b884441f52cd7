"""Meetings and the action list (问题清单→行动清单), the troika office, participation events, training, assessment."""

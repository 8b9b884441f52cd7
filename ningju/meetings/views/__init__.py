"""Meeting pages: meetings and their problem lists, action items, the troika grid, events, training, assessment."""

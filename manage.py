#!/usr/bin/env python
"""Django's manage.py, kept for habit; `ningju` is the same command."""

from ningju.__main__ import main

if __name__ == "__main__":
    main()

"""Demand pages (诉求): lists, detail and steps, intake, 12345 import, rates, deadline settings."""

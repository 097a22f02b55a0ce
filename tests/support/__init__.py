"""Test and benchmark support: the production stack (PostgreSQL, Redis, nginx, two Rasa instances)."""

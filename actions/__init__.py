"""Custom actions, loaded by the rasa-sdk action server (Python 3.11)."""

"""The pain diary after a diagnostic block: reading scores and times, and the summary.

Rasa's forms ask the questions (domain.yml); the validate_* actions call this package to
read what the patient typed; the entries are kept in the tracker (slot diary_entries) so
the diary survives reloads and restarts. Nothing here says what a result means for
treatment: that is the doctor's decision.
"""

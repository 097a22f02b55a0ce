"""Nurse callback requests: reading the phone number, storing each request durably
before the patient is told, and sending it to the clinic's system (CALLBACK_WEBHOOK_URL)
until that system accepts it."""

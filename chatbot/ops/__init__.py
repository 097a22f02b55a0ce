"""Running the assistant: the launcher and its local web page, the store check (run with
Rasa's Python), the terminal chat and the one REST client."""

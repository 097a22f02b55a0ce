"""Training code: runs only on the training machine (Python 3.11 with torch), never in a server."""

"""Knowledge search: the clinic's pages, embedded and indexed, searched for a patient's
question. Runs in the action server (and `chatbot` commands), Python 3.11.

Modules, one job each: ``pages`` (the only page parser), ``embedding`` (the model, offline
settings set once), ``index`` (FAISS, manifest, incremental refresh), ``search`` (dense
and keyword scores fused, patients' words normalised, follow-ups) and ``service`` (the
hot-reloading knowledge service the action uses).
"""

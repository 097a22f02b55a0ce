"""Is a message in Spanish? The assistant answers in English; escalations also in Spanish.

Counts everyday function words of each language (accents are off already); a message is
Spanish when it has clearly more Spanish ones. Short or mixed messages ("tengo numbness")
lean Spanish only when a Spanish word is there and no English one.
"""

from __future__ import annotations

from typing import Literal

from chatbot.triage.text import normalise

Language = Literal["en", "es"]

_SPANISH = frozenset({
    "el", "la", "los", "las", "un", "una", "unos", "unas", "de", "del", "que", "y", "en", "con",
    "por", "para", "es", "esta", "estoy", "estan", "son", "soy", "tengo", "tiene", "tienen",
    "me", "mi", "mis", "se", "le", "lo", "su", "sus", "muy", "mas", "pero", "porque", "como",
    "cuando", "donde", "ya", "hace", "desde", "ayer", "hoy", "manana", "puedo", "puede", "no",
    "si", "duele", "dolor", "pierna", "piernas", "espalda", "inyeccion", "fiebre", "hola",
    "gracias", "ahora", "todavia", "tambien", "bien", "mucho", "poco", "siento", "pusieron",
    "hicieron", "pecho", "respirar", "orinar", "mama", "esposo", "esposa", "hijo", "hija",
    "despues", "antes", "noche", "tarde", "dia", "dias", "semana", "bloqueo", "quiero",
    "necesito", "ayuda", "usted", "ustedes", "buenas", "buenos", "senora", "senor", "al",
    "nada", "algo", "cabeza", "cara", "ojos", "sangre", "azucar", "medico", "doctor",
    # question words and the aftercare topics patients ask about
    "cuanto", "cuanta", "cuantos", "cuantas", "tiempo", "dura", "duran", "durar", "cual",
    "entumecimiento", "entumecido", "entumecida", "adormecido", "adormecida", "hormigueo",
    "manejar", "conducir", "banar", "banarme", "ducharme", "ducha", "trabajar", "hielo",
    "normal", "efecto", "efectos", "esteroide", "cortisona", "alivio", "funciona", "hinchazon",
})
_ENGLISH = frozenset({
    "the", "a", "an", "and", "of", "to", "in", "is", "are", "was", "were", "i", "im", "my",
    "me", "it", "its", "you", "your", "have", "has", "had", "do", "does", "did", "can", "cant",
    "will", "would", "should", "what", "how", "when", "why", "this", "that", "with", "for",
    "on", "at", "from", "be", "been", "not", "no", "dont", "after", "since", "yesterday", "today",
    "hello", "hi", "thanks", "thank", "please", "pain", "leg", "legs", "back", "injection",
    "shot", "fever", "feel", "still", "just", "but", "or", "so", "he", "she", "they", "we",
    "doctor", "normal",  # also Spanish words: they count for neither
})
# Words both languages share: they count for neither.
_BOTH = _SPANISH & _ENGLISH


def language_of(message: str) -> Language | None:
    """'es' or 'en' when the message says so clearly enough, else None (keep the last)."""
    words = [token for token in normalise(message) if token.isalpha()]
    spanish = sum(1 for w in words if w in _SPANISH and w not in _BOTH)
    english = sum(1 for w in words if w in _ENGLISH and w not in _BOTH)
    if spanish >= 2 and spanish > english * 1.5:
        return "es"
    if spanish >= 1 and english == 0 and len(words) <= 6:
        return "es"
    if english >= 1 and english >= spanish:
        return "en"
    return None

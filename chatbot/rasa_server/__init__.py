"""Code the Rasa server loads (Python 3.10, Rasa 3.6): NLU components, the safety-net
policy, the NLG, the REST channel and the tracker store. Nothing else imports it."""

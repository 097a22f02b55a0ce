"""Training of the learned triage screen (`make triage-model`).

`train` fine-tunes the bundled all-MiniLM-L6-v2 on the train writers of data/triage,
`export` writes it as int8 ONNX with its tokenizer, `thresholds` chooses the decide/ask
zones on the dev writers, and the card (chatbot.screen.card) records all of it. Serving
code (chatbot/screen) never imports this package.
"""

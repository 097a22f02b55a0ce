"""Training of the retriever (`make retriever-model`): the bundled MiniLM fine-tuned on
patients' questions (data/retrieval), exported as int8 ONNX to data/retrieval/model/."""

"""Write the fine-tuned retriever as int8 ONNX (unit vectors out) with its tokenizer."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from torch import nn


def export(model: nn.Module, tokenizer_file: Path, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "retriever-fp32.onnx"
        torch.onnx.export(
            model, (ids, mask), str(full), input_names=["input_ids", "attention_mask"],
            output_names=["vectors"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "texts", 1: "tokens"}, "attention_mask": {0: "texts", 1: "tokens"},
                          "vectors": {0: "texts"}},
        )
        onnx_file = out_dir / "retriever.onnx"
        quantize_dynamic(str(full), str(onnx_file), weight_type=QuantType.QInt8)
    tokenizer = out_dir / "tokenizer.json"
    shutil.copyfile(tokenizer_file, tokenizer)
    return {"model": onnx_file, "tokenizer": tokenizer}

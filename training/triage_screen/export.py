"""Write the trained network as int8 ONNX with its tokenizer (what the servers load)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from training.triage_screen.network import LogitsForExport, ScreenNetwork

OPSET = 17


def export(network: ScreenNetwork, tokenizer_file: Path, out_dir: Path) -> dict[str, Path]:
    """screen.onnx (int8 weights) and tokenizer.json in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    network.eval()
    wrapper = LogitsForExport(network)
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / "screen-fp32.onnx"
        torch.onnx.export(
            wrapper,
            (ids, mask),
            str(full),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            opset_version=OPSET,
            dynamo=False,
            dynamic_axes={
                "input_ids": {0: "windows", 1: "tokens"},
                "attention_mask": {0: "windows", 1: "tokens"},
                "logits": {0: "windows"},
            },
        )
        model = out_dir / "screen.onnx"
        quantize_dynamic(str(full), str(model), weight_type=QuantType.QInt8)
    tokenizer = out_dir / "tokenizer.json"
    shutil.copyfile(tokenizer_file, tokenizer)
    return {"model": model, "tokenizer": tokenizer}
